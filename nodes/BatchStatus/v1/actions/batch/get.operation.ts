import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { runPerItem } from '../../../../shared/run-items';
import { batchRequest, readBatchItem } from './batch-request';

export const option = {
	name: 'Get',
	action: 'Get the progress of a batch',
	description: 'Counts, percent, items per second, ETA and state of one batch',
};

/** The service's page size for /chunks; more is for the live page or the API. */
const CHUNKS_LIMIT = 100;

export const description: INodeProperties[] = [
	{
		displayName: 'Include Unfinished Chunks',
		name: 'includeChunks',
		type: 'boolean',
		default: false,
		description:
			"Whether to add unfinishedChunks: the chunks with items left (up to 100), each with its latest n8n executions and their links in n8n's editor: where to look when a batch stalls",
		displayOptions: { show: { operation: ['get'] } },
	},
];

/** Progress as the service reports it, itemsPerSecond included (nothing is computed here). */
export async function execute(this: IExecuteFunctions) {
	return await runPerItem(this, readBatchItem, async function (item) {
		const progress = await batchRequest.call(this, item, 'GET');
		if (this.getNodeParameter('includeChunks', item.itemIndex, false) !== true) return progress;
		const page = await batchRequest.call(this, item, 'GET', `/chunks?limit=${CHUNKS_LIMIT}`);
		return {
			...progress,
			unfinishedChunks: (page.chunks as IDataObject[] | undefined) ?? [],
			moreUnfinishedChunks: page.nextCursor !== null && page.nextCursor !== undefined,
		};
	});
}
