import type { IExecuteFunctions } from 'n8n-workflow';

import { checkNumber, requireId } from '../../../../shared/parameters';
import { serviceRequest } from '../../../../shared/transport';
import { readBatchSettings, readJsonObject, readPageSize } from '../../helpers/batch-settings';
import {
	emit,
	isReturn,
	loopState,
	nextChunk,
	pairedWith,
	recordHandedBack,
	refuseRunAgain,
	startState,
	type LoopChunk,
	type LoopState,
} from '../../helpers/loop';
import { readLoopSettings, type LoopOptions } from '../../helpers/loop-options';
import {
	appendPage,
	firstPage,
	keysetRanges,
	MAX_RANGES,
	offsetRanges,
	pageResult,
	readKey,
	readLastKeys,
	tooMany,
	type Paging,
	type RangePlan,
} from '../../helpers/ranges';
import { batchPath, submit } from '../../helpers/submit';
import { MAX_RANGE_SIZE } from './ranges.description';

export { rangesProperties as description } from './ranges.description';

export const option = {
	name: 'Ranges',
	action: 'Split a source into range descriptors',
	description:
		'Emit { offset, limit, chunkIndex } (or keyset afterKey) descriptors instead of data, for sources read page by page: as a dispatched batch or as a Loop',
};

interface RangesOptions extends LoopOptions {
	addFields?: unknown;
	rangesPerChunk?: number;
}

interface RangesState extends LoopState {
	plan?: RangePlan;
}

/**
 * Ranges: descriptors of the source's pages become the items of a batch. Submitted as a batch,
 * the service dispatches them to a worker; as a Loop they come out one at a time, and the node
 * records each one itself when the body hands its rows back (the rows are not batch items).
 */
export async function execute(this: IExecuteFunctions) {
	const options = this.getNodeParameter('options', 0, {}) as RangesOptions;
	const paging = this.getNodeParameter('paging', 0, 'offset') as Paging;
	const looped =
		paging === 'untilShort' || this.getNodeParameter('rangesOutput', 0, 'batch') === 'loop';
	const state = loopState(this) as RangesState;
	if (looped && isReturn(state) && state.plan) {
		return await handBack.call(this, state as RangesState & { batchId: string; plan: RangePlan });
	}
	if (looped) refuseRunAgain(this, state, () => requireId.call(this, 'batchKey', 'Batch Key', 0));
	const plan = readPlan.call(this, paging, options);
	const startAfter = readKey(this, this.getNodeParameter('startAfter', 0, ''), 'Start After Key');
	const descriptors =
		paging === 'offset'
			? offsetRanges(readTotal.call(this, plan.limit), plan)
			: paging === 'keyset'
				? keysetRanges(readLastKeys(this, this.getNodeParameter('lastKeys', 0)), startAfter, plan)
				: [firstPage(startAfter, plan)];
	const settings = readBatchSettings.call(
		this,
		{ ...options, chunkSize: looped ? 1 : (options.rangesPerChunk ?? 1) },
		!looped,
	);
	const pageSize = readPageSize.call(this, options);
	if (!looped) {
		const { summary } = await submit.call(this, settings, descriptors, pageSize);
		const pairedItem = this.getInputData().map((_, item) => ({ item }));
		return [[{ json: { ...summary, ranges: descriptors.length }, pairedItem }]];
	}
	const loop = readLoopSettings.call(this, options);
	startState(this, state);
	state.plan = plan;
	const { summary } = await submit.call(this, settings, descriptors, pageSize, {
		seal: paging !== 'untilShort',
	});
	const batchId = summary.batchId;
	const next = await nextChunk(this, batchId, loop);
	return emit(state, batchId, next, (chunk) => rangeItems(state, batchId, chunk, true), true);
}

/** The body handed a range's rows back: the next page is planned, the range recorded, and on. */
async function handBack(
	this: IExecuteFunctions,
	state: RangesState & { batchId: string; plan: RangePlan },
) {
	const { batchId, plan } = state;
	const options = this.getNodeParameter('options', 0, {}) as RangesOptions;
	if (plan.paging === 'untilShort' && state.range) {
		const { rows, lastKey } = pageResult(this, this.getInputData(), plan);
		const endOnEmpty = this.getNodeParameter('endWhen', 0, 'short') === 'empty';
		// The next page is made known before this one is recorded: a crash between the two
		// redoes this page, never loses the next one.
		if (endOnEmpty ? rows > 0 : rows >= plan.limit) {
			if ((state.range.chunkIndex as number) + 1 >= MAX_RANGES) throw tooMany(this, MAX_RANGES + 1);
			await appendPage(this, batchId, state.range, { rows, lastKey }, plan);
		} else {
			await serviceRequest(this, 'POST', batchPath(batchId, 'seal'), { itemIndex: 0 });
		}
	}
	await recordHandedBack(this, state);
	const next = await nextChunk(
		this,
		batchId,
		readLoopSettings.call(this, options),
		state.chunkIndex,
	);
	return emit(state, batchId, next, (chunk) => rangeItems(state, batchId, chunk, false), false);
}

function rangeItems(state: RangesState, batchId: string, chunk: LoopChunk, firstRun: boolean) {
	state.range = chunk.items[0]?.json;
	return chunk.items.map(({ key, json }) => ({
		json: { ...json, batchId, itemKey: key, lease: chunk.lease },
		pairedItem: pairedWith(state, 0, firstRun),
	}));
}

function readPlan(this: IExecuteFunctions, paging: Paging, options: RangesOptions): RangePlan {
	const limit = checkNumber.call(
		this,
		this.getNodeParameter('rangeSize', 0, 1000),
		'Range Size',
		{ min: 1, max: MAX_RANGE_SIZE },
		0,
	);
	const keyField =
		paging === 'untilShort' ? String(this.getNodeParameter('pageKeyField', 0, 'id')).trim() : '';
	return {
		paging,
		limit,
		keyField,
		extra: readJsonObject.call(this, options.addFields, 'Add Fields'),
	};
}

function readTotal(this: IExecuteFunctions, limit: number): number {
	const total = checkNumber.call(
		this,
		this.getNodeParameter('totalRows', 0, 0),
		'Total Rows',
		{ min: 0, max: Number.MAX_SAFE_INTEGER },
		0,
	);
	if (Math.ceil(total / limit) > MAX_RANGES) throw tooMany(this, Math.ceil(total / limit));
	return total;
}
