import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { requireId } from '../../../shared/parameters';
import { serviceRequest } from '../../../shared/transport';

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
	const batchId = requireId.call(this, 'batchId', 'Batch ID', itemIndex);
	return await serviceRequest<IDataObject>(
		this,
		'GET',
		`/v1/batches/${encodeURIComponent(batchId)}`,
		{
			itemIndex,
		},
	);
}
