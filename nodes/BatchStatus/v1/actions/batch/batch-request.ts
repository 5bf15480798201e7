import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	INodeProperties,
} from 'n8n-workflow';

import { requireId } from '../../../../shared/parameters';
import { runPerItem, type ReadItem } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';

/** Every operation but List addresses one batch, named by this parameter. */
export const batchIdProperty = (operations: string[]): INodeProperties => ({
	displayName: 'Batch ID',
	name: 'batchId',
	type: 'string',
	required: true,
	default: '={{ $json.batchId }}',
	description: 'The batchId that Submit Batch returned',
	displayOptions: { show: { operation: operations } },
});

export interface BatchItem extends ReadItem {
	batchId: string;
}

/** The item's Batch ID, checked against the id rule. */
export function readBatchItem(this: IExecuteFunctions, itemIndex: number): BatchItem {
	return { itemIndex, batchId: requireId.call(this, 'batchId', 'Batch ID', itemIndex) };
}

/** One call to a route of the item's batch, e.g. `/pause` or `/report`. */
export async function batchRequest(
	this: IExecuteFunctions,
	{ itemIndex, batchId }: BatchItem,
	method: IHttpRequestMethods,
	suffix = '',
	body?: IDataObject,
): Promise<IDataObject> {
	return await serviceRequest<IDataObject>(
		this,
		method,
		`/v1/batches/${encodeURIComponent(batchId)}${suffix}`,
		{ itemIndex, ...(body ? { body } : {}) },
	);
}

/** An operation that is one call per item to a route of its batch, answering the service's reply. */
export const batchRoute = (method: IHttpRequestMethods, suffix = '') => ({
	description: [] as INodeProperties[],
	async execute(this: IExecuteFunctions) {
		return await runPerItem(this, readBatchItem, async function (item) {
			return await batchRequest.call(this, item, method, suffix);
		});
	},
});
