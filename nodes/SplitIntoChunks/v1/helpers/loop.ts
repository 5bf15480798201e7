import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IPairedItemData,
	ISourceData,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { executionRef } from '../../../shared/custom-data';
import { serviceRequest } from '../../../shared/transport';
import { batchPath } from './submit';

/**
 * The durable loop shared by Loop and Ranges (as a Loop). Wired like Loop Over Items: the node
 * runs first with the input, then again each time the loop body hands items back. Its cursor is
 * the batch in the service: the first chunk with unfinished items comes next, so a run started
 * again with the same batch key after n8n died resumes there. What the node remembers between
 * its runs of one execution lives in the node context (n8n's, per execution).
 */
export interface LoopState {
	batchId?: string;
	/** The chunk handed to the body last, its lease and its item keys. */
	chunkIndex?: number;
	lease?: string;
	keys?: string[];
	/** Done fired in this execution: a later run of the node with this batch is a runaway. */
	finished?: boolean;
	/** Where the first run's input came from, so chunk items pair with it (as Loop Over Items). */
	sourceData?: ISourceData | null;
	/** Item key -> index of the first run's input item. */
	keyIndex?: Record<string, number>;
	/** Ranges until a short page: the descriptor handed to the body last. */
	range?: IDataObject;
}

export const CHUNK_OUTPUT = 0;
export const DONE_OUTPUT = 1;

export interface LoopItem {
	key: string;
	attempt: number;
	json: IDataObject;
}

export interface LoopChunk {
	kind: 'chunk';
	chunkIndex: number;
	lease: string;
	items: LoopItem[];
	progress: IDataObject;
}

export interface LoopDone {
	kind: 'done';
	progress: IDataObject;
}

interface NextChunkAnswer {
	kind: 'chunk' | 'wait' | 'done';
	chunkIndex?: number;
	lease?: string;
	items?: LoopItem[];
	retryAfterMs?: number;
	previous?: { chunkIndex: number; left: number; unreported: number } | null;
	progress: IDataObject;
}

export interface LoopSettings {
	leaseMs: number;
	/** Longest total wait for retries that are not due yet, across several held requests. */
	maxRetryWaitMs: number;
	/** The chunk's items the body did not record count as succeeded once it is handed back. */
	recordOnReturn: boolean;
}

/** The service holds one long-poll at most this long (GET /wait), plus room for the answer. */
const MAX_POLL_MS = 60_000;
const POLL_MARGIN_MS = 15_000;

export const loopState = (ctx: IExecuteFunctions): LoopState => ctx.getContext('node') as LoopState;

/**
 * A runaway loop: Done fired for this batch already in this execution, and the node runs again
 * (Done, or something after it, leads back into the node). Checked before any request.
 */
export function refuseRunAgain(
	ctx: IExecuteFunctions,
	state: LoopState,
	readBatchKey: () => string,
): void {
	if (!state.finished) return;
	let batchKey: string | undefined;
	try {
		batchKey = readBatchKey();
	} catch {
		// The Batch Key no longer reads on what came in (e.g. the Done summary): a runaway too.
	}
	if (batchKey === undefined || batchKey === state.batchId) {
		throw new NodeOperationError(
			ctx.getNode(),
			`The loop over batch '${state.batchId}' already finished in this execution, and the node ran again`,
			{
				description:
					'Its Done output fired once; something leads from Done (or after it) back into this node. Connect only the Chunk branch back into Split Into Chunks, and Done to what comes after the loop.',
			},
		);
	}
}

/**
 * Asks the service for the next chunk. `previousChunk` is the chunk the body just worked: items
 * of it still unrecorded mean the body never reaches Record Results, and the loop stops here
 * instead of spinning. Retries not yet due are waited for in the service (held requests, no
 * timers), at most `maxRetryWaitMs` in all.
 */
export async function nextChunk(
	ctx: IExecuteFunctions,
	batchId: string,
	settings: LoopSettings,
	previousChunk?: number,
): Promise<LoopChunk | LoopDone> {
	const started = Date.now();
	let previous = previousChunk;
	// Bounded: every turn either returns or waits in the service, and the wait is bounded.
	for (let turn = 0; ; turn++) {
		const body: IDataObject = { leaseMs: settings.leaseMs, execution: executionRef(ctx) };
		if (previous !== undefined) body.previousChunk = previous;
		const answer = await serviceRequest<NextChunkAnswer>(
			ctx,
			'POST',
			batchPath(batchId, 'next-chunk'),
			{ body, itemIndex: 0 },
		);
		if (previous !== undefined) refuseUnrecorded(ctx, batchId, answer.previous);
		previous = undefined;
		if (answer.kind === 'chunk') {
			return {
				kind: 'chunk',
				chunkIndex: answer.chunkIndex as number,
				lease: answer.lease as string,
				items: answer.items ?? [],
				progress: answer.progress,
			};
		}
		if (answer.kind === 'done') return { kind: 'done', progress: answer.progress };
		const waitedMs = Date.now() - started;
		const leftMs = settings.maxRetryWaitMs - waitedMs;
		const retryAfterMs = Math.max(0, answer.retryAfterMs ?? 1000);
		if (leftMs <= 0 || retryAfterMs > leftMs || turn > settings.maxRetryWaitMs / 1000 + 1) {
			throw waitedTooLong(ctx, batchId, answer, Math.round(waitedMs / 1000));
		}
		await holdFor(ctx, batchId, Math.min(retryAfterMs, MAX_POLL_MS));
	}
}

/**
 * The body handed the chunk back: its items count as succeeded. Items the body recorded itself
 * under the chunk's lease (a failure on an error branch) keep that record: the service ignores
 * a second one.
 */
export async function recordHandedBack(
	ctx: IExecuteFunctions,
	state: LoopState & { batchId: string },
): Promise<void> {
	const keys = state.keys ?? [];
	if (keys.length === 0) return;
	await serviceRequest(ctx, 'POST', batchPath(state.batchId, 'results'), {
		body: {
			lease: state.lease,
			execution: executionRef(ctx),
			results: keys.map((key) => ({ key, status: 'succeeded' })),
		},
		itemIndex: 0,
	});
}

/** The service holds this request until the batch ends or `ms` pass: a wait without a timer. */
async function holdFor(ctx: IExecuteFunctions, batchId: string, ms: number): Promise<void> {
	await serviceRequest(ctx, 'GET', batchPath(batchId, 'wait'), {
		qs: { timeoutMs: Math.max(0, Math.round(ms)) },
		itemIndex: 0,
		timeout: ms + POLL_MARGIN_MS,
	});
}

function refuseUnrecorded(
	ctx: IExecuteFunctions,
	batchId: string,
	previous: NextChunkAnswer['previous'],
): void {
	if (!previous || previous.unreported <= 0) return;
	const { chunkIndex, unreported } = previous;
	throw new NodeOperationError(
		ctx.getNode(),
		`The loop body returned without recording ${unreported} item${unreported === 1 ? '' : 's'} of chunk ${chunkIndex} of batch '${batchId}'`,
		{
			description:
				'Every item of a chunk must reach Checkpoint > Record Results before the body returns into Split Into Chunks (items a Filter or IF drops too: record them as released or succeeded). Otherwise the loop would hand out the same chunk forever. Run the workflow again with the same batch key once fixed: it resumes at this chunk.',
		},
	);
}

function waitedTooLong(
	ctx: IExecuteFunctions,
	batchId: string,
	answer: NextChunkAnswer,
	waitedSeconds: number,
): NodeOperationError {
	const counts = (answer.progress?.counts ?? {}) as IDataObject;
	const state = String(answer.progress?.state ?? '');
	const due = new Date(Date.now() + (answer.retryAfterMs ?? 0)).toISOString();
	const what =
		state === 'paused'
			? `batch '${batchId}' is paused`
			: `${Number(counts.retrying ?? 0)} item(s) of batch '${batchId}' wait for a retry (the next at ${due})`;
	return new NodeOperationError(ctx.getNode(), `The loop stopped waiting: ${what}`, {
		description: `Waited ${waitedSeconds} s, the Max Wait for Retries. Run the workflow again with the same batch key later: the loop resumes with what is left. Or raise Options > Max Wait for Retries, or lower the backoff.`,
	});
}

/** The items of a chunk as the body gets them: their json plus what Record Results reads. */
export function chunkItems(
	state: LoopState,
	batchId: string,
	chunk: LoopChunk,
	firstRun: boolean,
): INodeExecutionData[] {
	return chunk.items.map(({ key, json }) => ({
		json: { ...json, batchId, itemKey: key, chunkIndex: chunk.chunkIndex, lease: chunk.lease },
		pairedItem: pairedWith(state, state.keyIndex?.[key] ?? 0, firstRun),
	}));
}

/** Pairs with the first run's input item, across later runs too (as Loop Over Items does). */
export function pairedWith(state: LoopState, item: number, firstRun: boolean): IPairedItemData {
	return firstRun || !state.sourceData ? { item } : { item, sourceOverwrite: state.sourceData };
}

/** Remembers the chunk handed out, or that Done fired; returns the node's two outputs. */
export function emit(
	state: LoopState,
	batchId: string,
	next: LoopChunk | LoopDone,
	chunkOutput: (chunk: LoopChunk) => INodeExecutionData[],
	firstRun: boolean,
): INodeExecutionData[][] {
	state.batchId = batchId;
	if (next.kind === 'done') {
		state.finished = true;
		state.chunkIndex = undefined;
		return [
			[],
			[{ json: { ...next.progress, batchId }, pairedItem: pairedWith(state, 0, firstRun) }],
		];
	}
	state.finished = false;
	state.chunkIndex = next.chunkIndex;
	state.lease = next.lease;
	state.keys = next.items.map((item) => item.key);
	return [chunkOutput(next), []];
}

/** Starts a loop's state afresh on the node's first run (or after a finished loop). */
export function startState(ctx: IExecuteFunctions, state: LoopState): void {
	for (const key of Object.keys(state)) delete (state as IDataObject)[key];
	try {
		state.sourceData = ctx.getInputSourceData();
	} catch {
		state.sourceData = null;
	}
}

/**
 * Whether this run of the node is the body handing back a chunk. The Batch Key is not read
 * then: it may be an expression that only the first run's input answers.
 */
export const isReturn = <S extends LoopState>(state: S): state is S & { batchId: string } =>
	state.batchId !== undefined && !state.finished && state.chunkIndex !== undefined;
