import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { optionsCollection } from '../../../../shared/node-builder';
import { requireId } from '../../../../shared/parameters';
import { pickOptions } from '../../helpers/batch-options';
import { readBatchSettings, readPageSize } from '../../helpers/batch-settings';
import { batchItem, keyRules } from '../../helpers/item-keys';
import {
	chunkItems,
	emit,
	isReturn,
	loopState,
	nextChunk,
	recordHandedBack,
	refuseRunAgain,
	startState,
} from '../../helpers/loop';
import { loopOptions, readLoopSettings, type LoopOptions } from '../../helpers/loop-options';
import { submit } from '../../helpers/submit';

export const option = {
	name: 'Loop',
	action: 'Loop over the input items in durable chunks',
	description:
		'Like Loop Over Items, but the position lives in the service: a run started again with the same batch key resumes at the first unfinished chunk',
};

export const description: INodeProperties[] = [
	{
		displayName:
			'Wire it like Loop Over Items: Chunk -> your steps -> Checkpoint Record Results -> back into this node (or turn on Record When Handed Back). Done fires once, with the summary.',
		name: 'loopNotice',
		type: 'notice',
		default: '',
		displayOptions: { show: { operation: ['loop'] } },
	},
	optionsCollection('loop', [
		...pickOptions('backoffInitialMs', 'backoffMaxMs', 'metadata', 'chunkSize'),
		loopOptions.loopLeaseMs,
		...pickOptions('failureMinSample', 'failureRatio', 'inDoubt', 'maxAttempts'),
		loopOptions.maxRetryWaitSeconds,
		...pickOptions('onMissingKey', 'hashKeys', 'pageSize'),
		loopOptions.recordOnReturn,
	]),
];

/**
 * Loop: the first run submits the input items as a batch (idempotent by key, like Submit Batch)
 * and hands out its first unfinished chunk on Chunk; each run after that is the body handing
 * the chunk back, and the next chunk follows, until Done fires once with the batch's progress.
 */
export async function execute(this: IExecuteFunctions) {
	const options = this.getNodeParameter('options', 0, {}) as LoopOptions;
	const settings = readLoopSettings.call(this, options);
	const state = loopState(this);
	if (isReturn(state)) {
		const { batchId } = state;
		if (settings.recordOnReturn) await recordHandedBack(this, state);
		const next = await nextChunk(this, batchId, settings, state.chunkIndex);
		return emit(state, batchId, next, (chunk) => chunkItems(state, batchId, chunk, false), false);
	}
	refuseRunAgain(this, state, () => requireId.call(this, 'batchKey', 'Batch Key', 0));
	const rules = keyRules(options);
	// Every item is checked before the first request: a bad one never leaves a half-made batch.
	const items = this.getInputData().map((_, itemIndex) => batchItem.call(this, itemIndex, rules));
	const batchSettings = readBatchSettings.call(this, options, false);
	const pageSize = readPageSize.call(this, options);
	startState(this, state);
	const keyIndex: Record<string, number> = {};
	items.forEach(({ key }, index) => (keyIndex[key] ??= index));
	state.keyIndex = keyIndex;
	const { summary } = await submit.call(this, batchSettings, items, pageSize);
	const batchId = summary.batchId;
	const next = await nextChunk(this, batchId, settings);
	return emit(state, batchId, next, (chunk) => chunkItems(state, batchId, chunk, true), true);
}
