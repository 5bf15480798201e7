import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { MAX_ITEMS_PER_REQUEST, pageId } from '../../../../shared/contract';
import { setExecutionCustomData } from '../../../../shared/custom-data';
import { checkNumber } from '../../../../shared/parameters';
import { runItems, type GroupSummary, type ItemOutcome } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import {
	readBatchSettings,
	type BatchSettings,
	type SubmitOptions,
} from '../../helpers/batch-settings';
import { itemKey } from '../../helpers/item-keys';
import { itemBytes, PAGE_BYTE_BUDGET, toPages, type BatchItem } from '../../helpers/pages';

export { submitBatchProperties as description } from './submitBatch.description';

export const option = {
	name: 'Submit Batch',
	action: 'Submit the input items as a durable batch',
	description:
		'The service stores the items, then sends them in chunks to a worker workflow or lets Checkpoint Claim work them, with retries and progress',
};

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

interface SubmitItem extends BatchItem {
	itemIndex: number;
}

/**
 * Submit Batch: all input items become one batch. Keys and settings are checked first, so a bad
 * item never leaves a half-written batch; then create (idempotent by key), upload pages, seal.
 * Outputs one summary, or (Pass Items Through) the input items with their batchId and itemKey.
 */
export async function execute(this: IExecuteFunctions) {
	const options = this.getNodeParameter('options', 0, {}) as SubmitOptions;
	const rules = {
		onMissingKey: options.onMissingKey ?? 'error',
		hashKeys: options.hashKeys ?? false,
	};
	const passThrough = this.getNodeParameter('outputMode', 0, 'summary') === 'passThrough';
	const input = this.getInputData();
	return await runItems(this, {
		read(itemIndex): SubmitItem {
			const item = {
				itemIndex,
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
			return item;
		},
		async run(group: SubmitItem[]): Promise<ItemOutcome[] | GroupSummary> {
			const settings = readBatchSettings.call(this, options);
			const pageSize = checkNumber.call(
				this,
				options.pageSize ?? 1000,
				'Upload Page Size',
				{ min: 1, max: MAX_ITEMS_PER_REQUEST },
				0,
			);
			const items = group.map(({ key, json }) => ({ key, json }));
			const summary = await submit.call(this, settings, items, pageSize);
			if (passThrough) {
				return group.map(({ key }) => ({ add: { batchId: summary.batchId, itemKey: key } }));
			}
			return { summary: { ...summary, rejected: input.length - group.length } };
		},
	});
}

async function submit(
	this: IExecuteFunctions,
	settings: BatchSettings,
	items: BatchItem[],
	pageSize: number,
): Promise<IDataObject & { batchId: string }> {
	const batch = await serviceRequest<BatchAnswer>(this, 'POST', '/v1/batches', {
		body: settings,
		itemIndex: 0,
	});
	const path = `/v1/batches/${encodeURIComponent(batch.batchId)}`;
	setExecutionCustomData(this, { batchId: batch.batchId });
	// Only `sealed` says every item is in: a paused batch that was never sealed still lacks some.
	const sealedBefore = batch.sealed === true;
	let accepted = 0;
	let duplicates = 0;
	let pages = 0;
	if (!sealedBefore) {
		for (const page of toPages(items, pageSize)) {
			const body = {
				pageId: pageId(
					pages,
					page.map((item) => item.key),
				),
				items: page,
			};
			const answer = await serviceRequest<PageAnswer>(this, 'POST', `${path}/items`, {
				body,
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
