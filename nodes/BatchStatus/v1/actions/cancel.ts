import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { batchRequest } from './batch-request';

export const description: INodeProperties[] = [];

/** Cancel: queued chunks are dropped; chunks in flight finish. Cannot be undone. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
	return await batchRequest.call(this, itemIndex, 'POST', '/cancel');
}
