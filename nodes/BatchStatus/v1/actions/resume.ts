import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { batchRequest } from './batch-request';

export const description: INodeProperties[] = [];

/** Resume: dispatch continues where Pause stopped it. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
	return await batchRequest.call(this, itemIndex, 'POST', '/resume');
}
