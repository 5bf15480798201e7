import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { batchRequest } from './batch-request';

export const description: INodeProperties[] = [];

/** The batch's report in the BatchJobResult shape: summary, error categories, samples, remediation. */
export async function execute(this: IExecuteFunctions, itemIndex: number): Promise<IDataObject> {
	return await batchRequest.call(this, itemIndex, 'GET', '/report');
}
