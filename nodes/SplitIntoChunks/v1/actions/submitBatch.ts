import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IPairedItemData,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { setExecutionCustomData } from '../../../shared/custom-data';
import { checkNumber } from '../../../shared/parameters';
import { asNodeError, failedItem } from '../../../shared/run-items';
import { serviceRequest } from '../../../shared/transport';
import { readBatchSettings, type SubmitOptions } from '../helpers/batch-settings';
import { itemKey } from '../helpers/item-keys';
import { itemBytes, PAGE_BYTE_BUDGET, toPages, type BatchItem } from '../helpers/pages';

export { submitBatchProperties as description } from './submitBatch.description';

interface BatchAnswer extends IDataObject {
	batchId: string;
	created?: boolean;
	state?: string;
	sealed?: boolean;
	counts?: IDataObject;
}

interface PageAnswer {
	accepted?: number;
	duplicates?: number;
	skipped?: number;
}

/**
 * Submit Batch: all input items become one batch. Keys and settings are checked first, so a bad
 * item never leaves a half-written batch; then create (idempotent by key), upload pages, seal.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = this.getInputData();
	const everyItem: IPairedItemData[] = input.map((_, item) => ({ item }));
	const options = this.getNodeParameter('options', 0, {}) as SubmitOptions;
	let settings;
	let pageSize: number;
	try {
		settings = readBatchSettings.call(this, options);
		pageSize = checkNumber.call(
			this,
			options.pageSize ?? 1000,
			'Upload Page Size',
			{ min: 1, max: 10_000 },
			0,
		);
	} catch (error) {
		if (!this.continueOnFail()) throw asNodeError(this, error, 0);
		return [[failedItem(asNodeError(this, error, 0), everyItem)]];
	}

	const rules = {
		onMissingKey: options.onMissingKey ?? 'error',
		hashKeys: options.hashKeys ?? false,
	};
	const batchItems: BatchItem[] = [];
	const submitted: IPairedItemData[] = [];
	const rejected: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
		try {
			const item: BatchItem = {
				key: itemKey.call(this, itemIndex, rules),
				json: input[itemIndex].json,
			};
			const bytes = itemBytes(item);
			if (bytes > PAGE_BYTE_BUDGET) {
				throw new NodeOperationError(
					this.getNode(),
					`Item ${itemIndex} is ${bytes} bytes of JSON, over the ${PAGE_BYTE_BUDGET}-byte limit per item`,
					{ itemIndex, description: 'Send a reference (an id or URL) instead of large content.' },
				);
			}
			batchItems.push(item);
			submitted.push({ item: itemIndex });
		} catch (error) {
			if (!this.continueOnFail()) throw asNodeError(this, error, itemIndex);
			rejected.push(
				failedItem(asNodeError(this, error, itemIndex), { item: itemIndex }, { itemIndex }),
			);
		}
	}
	if (batchItems.length === 0) return [rejected];

	try {
		const summary = await submit.call(this, settings, batchItems, pageSize);
		summary.rejected = rejected.length;
		return [[{ json: summary, pairedItem: submitted }, ...rejected]];
	} catch (error) {
		if (!this.continueOnFail()) throw asNodeError(this, error, 0);
		return [[failedItem(asNodeError(this, error, 0), submitted), ...rejected]];
	}
}

async function submit(
	this: IExecuteFunctions,
	settings: IDataObject & { batchKey: string },
	items: BatchItem[],
	pageSize: number,
): Promise<IDataObject> {
	const batch = await serviceRequest<BatchAnswer>(this, 'POST', '/v1/batches', {
		body: settings,
		itemIndex: 0,
	});
	const path = `/v1/batches/${encodeURIComponent(batch.batchId)}`;
	setExecutionCustomData(this, { batchId: batch.batchId });
	// A batch already sealed by an earlier run holds its items; uploading again would be refused.
	const sealedBefore =
		batch.created === false &&
		(batch.sealed === true || (batch.state !== undefined && batch.state !== 'open'));
	let accepted = 0;
	let duplicates = 0;
	let pages = 0;
	if (!sealedBefore) {
		for (const page of toPages(items, pageSize)) {
			const answer = await serviceRequest<PageAnswer>(this, 'POST', `${path}/items`, {
				body: { items: page },
				itemIndex: 0,
				timeout: 120_000,
			});
			pages++;
			accepted += answer.accepted ?? 0;
			duplicates += answer.duplicates ?? answer.skipped ?? 0;
		}
	}
	const sealed = await serviceRequest<BatchAnswer>(this, 'POST', `${path}/seal`, { itemIndex: 0 });
	return {
		batchId: batch.batchId,
		batchKey: settings.batchKey,
		created: batch.created ?? true,
		state: sealed.state ?? batch.state ?? null,
		counts: sealed.counts ?? batch.counts ?? null,
		items: items.length,
		accepted,
		duplicates,
		pages,
		...(sealedBefore
			? { note: 'This batch was sealed by an earlier run; no items were added' }
			: {}),
	};
}
