import type { IDataObject, IExecuteFunctions, IHttpRequestMethods } from 'n8n-workflow';

import { requireId } from '../../../shared/parameters';
import { serviceRequest } from '../../../shared/transport';

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
