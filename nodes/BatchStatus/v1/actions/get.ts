import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { batchRequest } from './batch-request';

export const batchIdProperty = (operations: string[]): INodeProperties => ({
	displayName: 'Batch ID',
	name: 'batchId',
	type: 'string',
	required: true,
	default: '={{ $json.batchId }}',
	description: 'The batchId that Submit Batch returned',
	displayOptions: { show: { operation: operations } },
});

export const description: INodeProperties[] = [];

/** Progress of one batch: counts, percent, rate, ETA, state. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
	return await batchRequest.call(this, itemIndex, 'GET');
}
