import type { ServiceContext } from '../context';
import { batchScriptError, expectArray } from './errors';
import type { CreateBatchInput } from './schemas';
import { batchScripts, type ScriptName, type ScriptReply } from './scripts';

/** What the dispatcher needs of a batch; fixed at creation, so it may be cached. */
export interface BatchSettings {
	batchId: string;
	targetUrl?: string;
	chunkSize: number;
	concurrency: number;
	maxAttempts: number;
	priority: number;
	timeoutMs: number;
	limiterKey?: string;
	milestoneUrl?: string;
}

export interface LeasedItem {
	key: string;
	attempt: number;
	json: unknown;
}

export type DispatchStart =
	| { kind: 'leased'; leaseExp: number; items: LeasedItem[] }
	| { kind: 'stop' | 'paused' }
	| { kind: 'busy'; slotExp: number }
	| { kind: 'done'; wake: string[] }
	| { kind: 'wait'; wakeAt: number; wake: string[] };

/** The outcome of one item, from Record Results or from the answer to a chunk POST. */
export interface ItemOutcome {
	key: string;
	succeeded: boolean;
	transient?: boolean;
	errorClass?: string;
	message?: string;
	httpCode?: number;
	retryAfterMs?: number;
}

export interface SettleResult {
	succeeded: number;
	retryScheduled: number;
	deadLettered: number;
	newState: string;
	milestone: number;
	wake: string[];
	ignored: Array<{ key: string; reason: string }>;
}

const START_KINDS = ['leased', 'stop', 'paused', 'done', 'busy', 'wait'] as const;

/** Every Redis change of a batch goes through here, and each one is a single Lua script. */
export class BatchStore {
	private readonly scripts: Record<
		ScriptName,
		(key: string, ...args: Array<string | number>) => Promise<ScriptReply>
	>;

	constructor(private readonly ctx: ServiceContext) {
		this.scripts = batchScripts(ctx.redis);
	}

	key(batchId: string): string {
		return this.ctx.keys.batch(batchId);
	}

	part(batchId: string, name: string): string {
		return this.ctx.keys.batchPart(batchId, name);
	}

	async create(input: CreateBatchInput): Promise<{ created: boolean; state: string }> {
		const fields: Record<string, string | number> = {
			batchKey: input.batchKey,
			chunkSize: input.chunkSize,
			concurrency: input.concurrency,
			maxAttempts: input.maxAttempts,
			backoffInitialMs: input.backoff.initialMs,
			backoffMaxMs: input.backoff.maxMs,
			priority: input.priority,
			timeoutMs: input.timeoutMs,
			meta: JSON.stringify(input.meta),
		};
		if (input.targetUrl) fields.targetUrl = input.targetUrl;
		if (input.limiterKey) fields.limiterKey = input.limiterKey;
		if (input.milestoneUrl) fields.milestoneUrl = input.milestoneUrl;
		if (input.failureThreshold) {
			fields.failureRatio = input.failureThreshold.ratio;
			fields.failureMinSample = input.failureThreshold.minSample;
		}
		const reply = expectArray(
			await this.scripts.createBatch(this.key(input.batchKey), ...Object.entries(fields).flat()),
			input.batchKey,
		);
		const created = Number(reply[0]) === 1;
		if (created) {
			await this.ctx.redis.zadd(this.ctx.keys.batchIndex(), 'NX', Date.now(), input.batchKey);
		}
		return { created, state: String(reply[1]) };
	}

	async append(
		batchId: string,
		items: Array<{ key: string; json: unknown }>,
	): Promise<{ accepted: number; duplicates: number }> {
		const args = items.flatMap((item) => [item.key, JSON.stringify(item.json)]);
		const reply = expectArray(await this.scripts.appendItems(this.key(batchId), ...args), batchId);
		return { accepted: Number(reply[0]), duplicates: Number(reply[1]) };
	}

	async seal(batchId: string): Promise<{ sealedNow: boolean; state: string }> {
		const reply = expectArray(await this.scripts.sealBatch(this.key(batchId)), batchId);
		return { sealedNow: Number(reply[0]) === 1, state: String(reply[1]) };
	}

	async settings(batchId: string): Promise<BatchSettings | null> {
		const [chunkSize, concurrency, maxAttempts, priority, timeoutMs, ...rest] =
			await this.ctx.redis.hmget(
				this.key(batchId),
				'chunkSize',
				'concurrency',
				'maxAttempts',
				'priority',
				'timeoutMs',
				'targetUrl',
				'limiterKey',
				'milestoneUrl',
			);
		if (chunkSize === null) return null;
		const [targetUrl, limiterKey, milestoneUrl] = rest;
		return {
			batchId,
			chunkSize: Number(chunkSize),
			concurrency: Number(concurrency),
			maxAttempts: Number(maxAttempts),
			priority: Number(priority),
			timeoutMs: Number(timeoutMs),
			targetUrl: targetUrl ?? undefined,
			limiterKey: limiterKey ?? undefined,
			milestoneUrl: milestoneUrl ?? undefined,
		};
	}

	async dispatchStart(
		batchId: string,
		chunkIndex: number,
		generation: number,
		leaseId: string,
		leaseMs: number,
	): Promise<DispatchStart> {
		const reply = await this.scripts.dispatchStart(
			this.key(batchId),
			chunkIndex,
			generation,
			leaseId,
			leaseMs,
		);
		if (typeof reply === 'number') return { kind: 'stop' };
		const kind = START_KINDS[Number(reply[0])];
		if (kind === 'wait')
			return { kind, wakeAt: Number(reply[1]), wake: reply.slice(2).map(String) };
		if (kind === 'done') return { kind, wake: reply.slice(1).map(String) };
		if (kind === 'busy') return { kind, slotExp: Number(reply[1]) };
		if (kind !== 'leased') return { kind };
		const items: LeasedItem[] = [];
		for (let i = 2; i < reply.length; i += 3) {
			items.push({
				key: String(reply[i]),
				attempt: Number(reply[i + 1]),
				json: JSON.parse(String(reply[i + 2])),
			});
		}
		return { kind, leaseExp: Number(reply[1]), items };
	}

	/** Records outcomes; under `leaseId` only items still leased by it change. */
	async settle(
		batchId: string,
		leaseId: string | undefined,
		slot: string | undefined,
		outcomes: ItemOutcome[],
	): Promise<SettleResult> {
		const args = outcomes.flatMap((o) => [
			o.key,
			o.succeeded ? 's' : 'f',
			o.transient ? '1' : '0',
			o.errorClass ?? '',
			o.message ?? '',
			o.httpCode ?? '',
			o.retryAfterMs ?? 0,
			Math.random(),
		]);
		const reply = expectArray(
			await this.scripts.settleItems(this.key(batchId), leaseId ?? '', slot ?? '', ...args),
			batchId,
		);
		const wakeCount = Number(reply[5]);
		const wake = reply.slice(6, 6 + wakeCount).map(String);
		const ignored: SettleResult['ignored'] = [];
		for (let i = 6 + wakeCount; i < reply.length; i += 2) {
			ignored.push({ key: String(reply[i]), reason: String(reply[i + 1]) });
		}
		return {
			succeeded: Number(reply[0]),
			retryScheduled: Number(reply[1]),
			deadLettered: Number(reply[2]),
			newState: String(reply[3]),
			milestone: Number(reply[4]),
			wake,
			ignored,
		};
	}

	/** Gives back a dispatch that was never sent; answers parked chunks to wake. */
	async release(batchId: string, leaseId: string, keys: string[]): Promise<string[]> {
		const reply = await this.scripts.releaseLease(this.key(batchId), leaseId, ...keys);
		return typeof reply === 'number' ? [] : reply.map(String);
	}

	/** True when the chunk should run now after all (the reason to park it went away). */
	async park(batchId: string, chunkIndex: number): Promise<boolean> {
		return Number(await this.scripts.parkChunk(this.key(batchId), chunkIndex)) === 1;
	}

	async claim(
		batchId: string,
		keys: string[],
		givenLease: string | undefined,
		newLease: string,
		leaseMs: number,
	): Promise<{ claimed: string[]; skipped: Array<{ key: string; reason: string }> }> {
		const reply = await this.scripts.claimItems(
			this.key(batchId),
			givenLease ?? '',
			newLease,
			leaseMs,
			...keys,
		);
		const out = expectArray(
			reply,
			batchId,
			'paused or finished (claims without a lease need a running batch)',
		);
		const count = Number(out[0]);
		const claimed = out.slice(1, 1 + count).map(String);
		const skipped: Array<{ key: string; reason: string }> = [];
		for (let i = 1 + count; i < out.length; i += 2) {
			skipped.push({ key: String(out[i]), reason: String(out[i + 1]) });
		}
		return { claimed, skipped };
	}

	async control(
		batchId: string,
		op: 'pause' | 'resume' | 'cancel' | 'concurrency',
		value = 0,
	): Promise<{ state: string; wake: string[] }> {
		const reply = await this.scripts.controlBatch(this.key(batchId), op, value);
		if (typeof reply === 'number') {
			const state = await this.ctx.redis.hget(this.key(batchId), 'state');
			throw batchScriptError(reply, batchId, state ?? undefined);
		}
		return { state: String(reply[0]), wake: reply.slice(1).map(String) };
	}

	async replay(batchId: string, errorClass?: string): Promise<{ replayed: number; state: string }> {
		const reply = await this.scripts.replayDeadLetters(this.key(batchId), errorClass ?? '');
		if (typeof reply === 'number') {
			const state = await this.ctx.redis.hget(this.key(batchId), 'state');
			throw batchScriptError(reply, batchId, state ?? undefined);
		}
		return { replayed: Number(reply[0]), state: String(reply[1]) };
	}

	/** Chunks cut but whose BullMQ job is not known to exist yet, with their generation. */
	async unqueuedChunks(
		batchId: string,
	): Promise<Array<{ chunkIndex: number; generation: number }>> {
		const chunks = await this.ctx.redis.smembers(this.part(batchId, 'unqueued'));
		return this.withGenerations(batchId, chunks);
	}

	async markQueued(batchId: string, chunkIndexes: number[]): Promise<void> {
		if (chunkIndexes.length > 0) {
			await this.ctx.redis.srem(this.part(batchId, 'unqueued'), ...chunkIndexes);
		}
	}

	async withGenerations(
		batchId: string,
		chunks: Array<string | number>,
	): Promise<Array<{ chunkIndex: number; generation: number }>> {
		if (chunks.length === 0) return [];
		const gens = await this.ctx.redis.hmget(this.part(batchId, 'chunk-gen'), ...chunks.map(String));
		return chunks.map((chunk, i) => ({
			chunkIndex: Number(chunk),
			generation: Number(gens[i] ?? 0),
		}));
	}

	breakerScript(): (key: string, ...args: Array<string | number>) => Promise<ScriptReply> {
		return this.scripts.breaker;
	}
}
