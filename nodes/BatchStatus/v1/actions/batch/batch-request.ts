import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	INodeProperties,
} from 'n8n-workflow';

import { requireId } from '../../../../shared/parameters';
import { runPerItem } from '../../../../shared/run-items';
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

/** One call to a route of the batch named by the item's Batch ID, e.g. `/pause` or `/report`. */
export async function batchRequest(
	this: IExecuteFunctions,
	itemIndex: number,
	method: IHttpRequestMethods,
	suffix = '',
	body?: IDataObject,
): Promise<IDataObject> {
	const batchId = requireId.call(this, 'batchId', 'Batch ID', itemIndex);
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
		return await runPerItem.call(this, async function (itemIndex) {
			return await batchRequest.call(this, itemIndex, method, suffix);
		});
	},
});
