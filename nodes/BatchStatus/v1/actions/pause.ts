import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { batchRequest } from './batch-request';

export const description: INodeProperties[] = [];

/** Pause: no new chunks are dispatched until Resume; chunks in flight finish. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
	return await batchRequest.call(this, itemIndex, 'POST', '/pause');
}
