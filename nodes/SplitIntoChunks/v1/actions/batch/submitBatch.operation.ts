import type { IExecuteFunctions } from 'n8n-workflow';

import { runItems, type GroupSummary, type ItemOutcome } from '../../../../shared/run-items';
import { readBatchSettings, readPageSize, type SubmitOptions } from '../../helpers/batch-settings';
import { batchItem, keyRules } from '../../helpers/item-keys';
import type { BatchItem } from '../../helpers/pages';
import { submit } from '../../helpers/submit';

export { submitBatchProperties as description } from './submitBatch.description';

export const option = {
	name: 'Submit Batch',
	action: 'Submit the input items as a durable batch',
	description:
		'The service stores the items, then sends them in chunks to a worker workflow or lets Checkpoint Claim work them, with retries and progress',
};

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
	const rules = keyRules(options);
	const passThrough = this.getNodeParameter('outputMode', 0, 'summary') === 'passThrough';
	const input = this.getInputData();
	return await runItems(this, {
		read(itemIndex): SubmitItem {
			return { itemIndex, ...batchItem.call(this, itemIndex, rules) };
		},
		async run(group: SubmitItem[]): Promise<ItemOutcome[] | GroupSummary> {
			const settings = readBatchSettings.call(this, options);
			const pageSize = readPageSize.call(this, options);
			const items = group.map(({ key, json }) => ({ key, json }));
			const { summary } = await submit.call(this, settings, items, pageSize);
			if (passThrough) {
				return group.map(({ key }) => ({ add: { batchId: summary.batchId, itemKey: key } }));
			}
			return { summary: { ...summary, rejected: input.length - group.length } };
		},
	});
}
