import path from 'node:path';

import type { ServiceContext } from '../../context';
import { loadScripts, type LuaScript } from '../../redis/scripts';
import { TERMINAL_STATES } from '../../../../nodes/shared/contract';
import {
	forgetBatch,
	ITEM_OUTCOMES,
	recordItemOutcomes,
	type ItemOutcome,
} from '../../observability/metrics';
import { batchError } from './errors';

/**
 * Every state change of a batch, each one Lua script in ./lua that gets every key of the batch in
 * KEYS. This is the only place that calls them; each method decodes its script's reply into named
 * fields and turns its named error codes into user-facing errors (see ./errors.ts). Every reply
 * carries `now`, Redis TIME in ms: callers measure due times against it, never against Date.now().
 */

interface Reply {
	now: number;
}
/** Follow-up work a change leaves: chunk jobs to add, parked jobs to wake, notices to send. */
export interface Followups {
	unqueued?: number;
	wake?: Array<string | number>;
	notices?: number;
}

export interface CreateReply extends Reply {
	created: boolean;
	state: string;
	sealed: boolean;
}
export interface AppendReply extends Reply, Followups {
	accepted: number;
	duplicates: number;
	replayed: boolean;
	state: string;
}
export interface SealReply extends Reply, Followups {
	sealedNow: boolean;
	state: string;
}
export type PeekReply = Reply &
	(
		| { kind: 'stop' | 'paused' | 'done' }
		| { kind: 'busy' | 'wait'; wakeAt: number }
		| { kind: 'ready'; due: number }
	);
export interface LeasedItem {
	key: string;
	attempt: number;
	/** The item's JSON exactly as submitted (never parsed on the way to the worker). */
	json: string;
}
export type StartReply = Reply &
	(
		| ({ kind: 'leased'; leaseExp: number; items: LeasedItem[] } & Followups)
		| { kind: 'stop' | 'paused' }
		| { kind: 'done'; wake: Array<string | number> }
		| { kind: 'busy'; wakeAt: number }
		| { kind: 'wait'; wakeAt: number; wake: Array<string | number> }
	);
export interface CloseReply extends Reply, Followups {
	succeeded: number;
	retryScheduled: number;
	deadLettered: number;
	chunkSize: { from: number; to: number } | null;
	chunkIndex: number;
	/** Items of the chunk not finished; 0 means its job has nothing left to do. */
	chunkLeft: number;
	state: string;
}
export type DispatchAnswer =
	| { mode: 'ok' | 'direct' }
	| {
			mode: 'fail' | 'doubt' | 'unsure';
			transient: boolean;
			errorClass: string;
			message: string;
			httpCode?: number;
			retryAfterMs?: number;
	  };

/** One outcome from Record Results. `released` gives the item back unworked. */
export interface ItemResult {
	key: string;
	outcome: 'succeeded' | 'failed' | 'released';
	transient?: boolean;
	errorClass?: string;
	message?: string;
	httpCode?: number;
	retryAfterMs?: number;
}
export interface Execution {
	id: string;
	workflowId: string;
}
export interface SettleReply extends Reply, Followups {
	succeeded: number;
	retryScheduled: number;
	deadLettered: number;
	released: number;
	ignored: Array<{ key: string; reason: string }>;
	chunks: number[];
	state: string;
}
export interface ClaimReply extends Reply, Followups {
	claimed: string[];
	skipped: Array<{ key: string; reason: string; dueAt?: number }>;
	leaseExp: number;
	state: string;
}
export interface ControlReply extends Reply, Followups {
	state: string;
	wake: Array<string | number>;
}
export interface ReplayReply extends Reply, Followups {
	replayed: number;
	state: string;
}
export interface NextChunkReply extends Reply, Followups {
	kind: 'chunk' | 'wait' | 'done';
	chunkIndex?: number;
	lease?: string;
	leaseExp?: number;
	items?: Array<{ key: string; attempt: number; json: Record<string, unknown> }>;
	wakeAt?: number;
	previous: { chunkIndex: number; left: number; unreported: number } | null;
	state: string;
}
export interface SweepReply extends Reply {
	exists: boolean;
	state?: string;
	unqueued?: Array<{ chunkIndex: number; generation: number }>;
	outbox?: number;
}

/**
 * Every script tallies the items it settled, by outcome; counting them here, for every script,
 * keeps the item counters equal to the batch's own however an item was settled.
 */
function countOutcomes(batchId: string, reply: Record<string, unknown>): void {
	const tally = reply.tally as Partial<Record<ItemOutcome, number>> | undefined;
	if (tally) {
		for (const outcome of ITEM_OUTCOMES) recordItemOutcomes(batchId, outcome, tally[outcome] ?? 0);
	}
	if (typeof reply.state === 'string' && TERMINAL.has(reply.state)) forgetBatch(batchId);
}
const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);

/** Lua's cjson writes an empty table as {}; lists of ours are arrays either way. */
const list = <T>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);

export class BatchCommands {
	private readonly scripts: Record<string, LuaScript>;

	constructor(private readonly ctx: ServiceContext) {
		this.scripts = loadScripts(ctx.redis, path.join(__dirname, 'lua'));
	}

	/** Runs a script with every key of the batch; its JSON reply, or its named error thrown. */
	private async call<T = Record<string, unknown>>(
		script: string,
		batchId: string,
		args: Array<string | number> = [],
	): Promise<T> {
		const raw = await this.scripts[script](...this.ctx.keys.batchKeys(batchId), ...args);
		const reply = JSON.parse(String(Array.isArray(raw) ? raw[0] : raw)) as Record<string, unknown>;
		if (typeof reply.err === 'string') throw batchError(reply.err, batchId, reply);
		countOutcomes(batchId, reply);
		return reply as T;
	}

	async create(batchId: string, fields: Record<string, string | number>): Promise<CreateReply> {
		return this.call<CreateReply>('createBatch', batchId, Object.entries(fields).flat());
	}

	async append(
		batchId: string,
		pageId: string | undefined,
		items: Array<{ key: string; json: string }>,
	): Promise<AppendReply> {
		const args: Array<string | number> = [pageId ?? ''];
		for (const item of items) args.push(item.key, item.json);
		return this.call<AppendReply>('appendItems', batchId, args);
	}

	async seal(batchId: string): Promise<SealReply> {
		return this.call<SealReply>('sealBatch', batchId);
	}

	async peek(batchId: string, chunkIndex: number, generation: number): Promise<PeekReply> {
		return this.call<PeekReply>('peekChunk', batchId, [chunkIndex, generation]);
	}

	async startDispatch(
		batchId: string,
		chunkIndex: number,
		generation: number,
		leaseId: string,
		leaseMs: number,
		maxItems: number,
	): Promise<StartReply> {
		const raw = (await this.scripts.dispatchStart(
			...this.ctx.keys.batchKeys(batchId),
			chunkIndex,
			generation,
			leaseId,
			leaseMs,
			maxItems,
		)) as Array<string | number>;
		const header = JSON.parse(String(raw[0])) as Record<string, unknown>;
		if (typeof header.err === 'string') throw batchError(header.err, batchId, header);
		countOutcomes(batchId, header);
		if (header.kind !== 'leased') {
			return { ...header, wake: list(header.wake) } as StartReply;
		}
		const items: LeasedItem[] = [];
		for (let i = 1; i < raw.length; i += 3) {
			items.push({ key: String(raw[i]), attempt: Number(raw[i + 1]), json: String(raw[i + 2]) });
		}
		return { ...(header as { leaseExp: number; now: number }), kind: 'leased', items };
	}

	async closeDispatch(
		batchId: string,
		leaseId: string,
		answer: DispatchAnswer,
		durationMs: number,
	): Promise<CloseReply> {
		const failure = 'errorClass' in answer ? answer : undefined;
		const reply = await this.call('closeDispatch', batchId, [
			leaseId,
			answer.mode,
			failure?.transient ? '1' : '0',
			failure?.errorClass ?? '',
			failure?.message ?? '',
			failure?.httpCode ?? '',
			failure?.retryAfterMs ?? 0,
			Math.round(durationMs),
		]);
		return { ...reply, wake: list(reply.wake) } as unknown as CloseReply;
	}

	/** Direct delivery: marks items right before their transactions open; answers those still ours. */
	async markSending(batchId: string, leaseId: string, keys: string[]): Promise<string[]> {
		const reply = await this.call('markSending', batchId, [leaseId, ...keys]);
		return list<string>(reply.marked);
	}

	async releaseDispatch(batchId: string, leaseId: string): Promise<{ wake: string[] }> {
		const reply = await this.call('releaseDispatch', batchId, [leaseId]);
		return { wake: list(reply.wake) };
	}

	async settle(
		batchId: string,
		leaseId: string | undefined,
		execution: Execution | undefined,
		results: ItemResult[],
	): Promise<SettleReply> {
		const args: Array<string | number> = [
			leaseId ?? '',
			execution?.id ?? '',
			execution?.workflowId ?? '',
		];
		for (const r of results) {
			args.push(
				r.key,
				r.outcome === 'succeeded' ? 's' : r.outcome === 'released' ? 'g' : 'f',
				r.transient ? '1' : '0',
				r.errorClass ?? '',
				r.message ?? '',
				r.httpCode ?? '',
				r.retryAfterMs ?? 0,
			);
		}
		const reply = await this.call('settleItems', batchId, args);
		return {
			...reply,
			ignored: list<[string, string]>(reply.ignored).map(([key, reason]) => ({ key, reason })),
			chunks: list<number>(reply.chunks),
		} as unknown as SettleReply;
	}

	async claim(
		batchId: string,
		givenLease: string | undefined,
		newLease: string,
		leaseMs: number,
		execution: Execution | undefined,
		keys: string[],
		maxItems = 0,
	): Promise<ClaimReply> {
		const reply = await this.call('claimItems', batchId, [
			givenLease ?? '',
			newLease,
			leaseMs,
			execution?.id ?? '',
			execution?.workflowId ?? '',
			maxItems,
			...keys,
		]);
		return {
			...reply,
			claimed: list<string>(reply.claimed),
			skipped: list<[string, string, number]>(reply.skipped).map(([key, reason, dueAt]) =>
				dueAt > 0 ? { key, reason, dueAt } : { key, reason },
			),
		} as unknown as ClaimReply;
	}

	async control(
		batchId: string,
		op: 'pause' | 'resume' | 'cancel' | 'concurrency',
		value = 0,
	): Promise<ControlReply> {
		const reply = await this.call('controlBatch', batchId, [op, value]);
		return { ...reply, wake: list(reply.wake) } as unknown as ControlReply;
	}

	async replay(batchId: string, errorClass: string | undefined): Promise<ReplayReply> {
		return this.call<ReplayReply>('replayDeadLetters', batchId, [errorClass ?? '']);
	}

	async park(batchId: string, chunkIndex: number): Promise<boolean> {
		return (await this.call('parkChunk', batchId, [chunkIndex])).wakeNow === true;
	}

	async markQueued(batchId: string, chunks: Array<{ chunkIndex: number; generation: number }>) {
		if (chunks.length === 0) return;
		await this.call(
			'markQueued',
			batchId,
			chunks.flatMap((c) => [c.chunkIndex, c.generation]),
		);
	}

	async addNotice(batchId: string, kind: string, openedAt: number): Promise<number> {
		return Number((await this.call('addNotice', batchId, [kind, openedAt])).notices ?? 0);
	}

	async noticeSent(batchId: string, notice: string): Promise<number> {
		return Number((await this.call('noticeSent', batchId, [notice])).left);
	}

	async delete(batchId: string): Promise<void> {
		await this.call('deleteBatch', batchId);
	}

	async nextChunk(
		batchId: string,
		leaseMs: number,
		execution: Execution | undefined,
		previousChunk: number | undefined,
	): Promise<NextChunkReply> {
		const reply = await this.call<Record<string, unknown>>('nextChunk', batchId, [
			leaseMs,
			execution?.id ?? '',
			execution?.workflowId ?? '',
			previousChunk ?? -1,
		]);
		return {
			...(reply as unknown as NextChunkReply),
			previous: (reply.previous as NextChunkReply['previous']) ?? null,
			items:
				reply.kind === 'chunk'
					? list<[string, number, string]>(reply.items).map(([key, attempt, json]) => ({
							key,
							attempt,
							json: JSON.parse(json) as Record<string, unknown>,
						}))
					: undefined,
		};
	}

	async sweep(batchId: string): Promise<SweepReply> {
		const reply = await this.call('sweepBatch', batchId);
		const flat = list<string>(reply.unqueued);
		const unqueued = [];
		for (let i = 0; i < flat.length; i += 2) {
			unqueued.push({ chunkIndex: Number(flat[i]), generation: Number(flat[i + 1]) });
		}
		return { ...(reply as unknown as SweepReply), unqueued };
	}
}
