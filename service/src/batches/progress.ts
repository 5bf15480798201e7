import type { ServiceContext } from '../context';
import type { Breaker } from './dispatch/breaker';
import type { BatchProgress, BatchState, DeadLetter } from './http/schemas';

const iso = (ms: string | number | undefined): string | null =>
	ms && Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null;

export interface LoadedBatch {
	hash: Record<string, string>;
	progress: BatchProgress;
	/** Redis TIME when it was read, in ms. */
	now: number;
}

/** Progress of a batch from its hash, error and rate parts; null when no such batch. */
export async function loadBatch(
	ctx: ServiceContext,
	breaker: Breaker,
	batchId: string,
): Promise<LoadedBatch | null> {
	const part = (name: Parameters<typeof ctx.keys.batchPart>[1]) =>
		ctx.keys.batchPart(batchId, name);
	const replies = await ctx.redis
		.multi()
		.hgetall(part(''))
		.hgetall(part('errors'))
		.hgetall(part('samples'))
		.hgetall(part('rate'))
		.time()
		.exec();
	if (!replies) return null;
	for (const [error] of replies) if (error) throw error;
	const [hash, errors, samples, rate] = replies
		.slice(0, 4)
		.map(([, value]) => (value ?? {}) as Record<string, string>);
	const [seconds, micros] = replies[4][1] as [string, string];
	const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
	if (!hash.state) return null;
	const n = (field: string): number => Number(hash[field] ?? 0);
	const counts = {
		total: n('total'),
		pending: n('pending'),
		inFlight: n('inFlight'),
		retrying: n('retrying'),
		succeeded: n('succeeded'),
		skipped: n('skipped'),
		deadLettered: n('deadLettered'),
		inDoubt: n('inDoubt'),
		released: n('released'),
	};
	const finished = counts.succeeded + counts.skipped + counts.deadLettered;
	const left = counts.pending + counts.retrying + counts.inFlight;
	const startedAt = n('startedAt');
	const finishedAt = n('finishedAt');
	const itemsPerSecond =
		finishedAt > 0
			? averageRate(counts.succeeded + counts.deadLettered, startedAt, finishedAt)
			: rateOverLastMinute(rate, startedAt, now);
	const errorClasses: BatchProgress['errorClasses'] = {};
	for (const [errorClass, count] of Object.entries(errors)) {
		errorClasses[errorClass] = {
			count: Number(count),
			samples: samples[errorClass] ? JSON.parse(samples[errorClass]) : [],
		};
	}
	const progress: BatchProgress = {
		batchId,
		batchKey: hash.batchKey ?? batchId,
		state: hash.state as BatchState,
		sealed: hash.sealed === '1',
		counts,
		percent: counts.total > 0 ? Math.floor((finished / counts.total) * 10_000) / 100 : 0,
		itemsPerSecond,
		etaSeconds: left === 0 ? 0 : itemsPerSecond > 0 ? Math.ceil(left / itemsPerSecond) : null,
		concurrency: n('concurrency'),
		inDoubt: hash.inDoubtPolicy === 'hold' ? 'hold' : 'retry',
		chunkSize: {
			configured: n('chunkSize'),
			current: n('chunkSizeNow') || n('chunkSize'),
			adaptive: hash.adaptive === '1',
			changes: n('chunkSizeChanges'),
			changedAt: iso(hash.chunkSizeChangedAt),
		},
		chunks: chunkCounts(n),
		errorClasses,
		breaker: hash.targetUrl ? await breaker.read(hash.targetUrl) : null,
		limiterKey: hash.limiterKey ?? null,
		abortReason: hash.abortReason ?? null,
		createdAt: iso(hash.createdAt) ?? new Date(0).toISOString(),
		startedAt: iso(startedAt),
		finishedAt: iso(finishedAt),
		meta: hash.meta ? JSON.parse(hash.meta) : {},
	};
	return { hash, progress, now };
}

/**
 * Dispatched batches cut chunks a window ahead of dispatch, so `total` counts the chunks cut so far
 * plus those the items not yet in one will make at the current chunk size.
 */
function chunkCounts(n: (field: string) => number): BatchProgress['chunks'] {
	const cut = n('chunksTotal');
	const uncut = Math.max(0, n('total') - n('skipped') - n('cutTo'));
	const size = n('chunkSizeNow') || n('chunkSize') || 1;
	return { total: cut + Math.ceil(uncut / size), cut, done: n('chunksDone') };
}

/** A finished batch's rate is its average over its run (the last minute would say 0). */
function averageRate(processed: number, startedAt: number, finishedAt: number): number {
	const seconds = (finishedAt - (startedAt || finishedAt)) / 1000;
	if (processed === 0) return 0;
	return Math.round((processed / Math.max(seconds, 0.001)) * 100) / 100;
}

/** Finished items per second over the last minute (or since the start, when that is shorter). */
function rateOverLastMinute(
	buckets: Record<string, string>,
	startedAt: number,
	now: number,
): number {
	const second = Math.floor(now / 1000);
	let sum = 0;
	for (const [bucket, count] of Object.entries(buckets)) {
		if (Number(bucket) > second - 60) sum += Number(count);
	}
	if (sum === 0) return 0;
	const window = Math.min(60, Math.max(1, (now - (startedAt || now)) / 1000));
	return Math.round((sum / window) * 100) / 100;
}

/** Dead letters in the order they died, optionally of one error class, and how many there are. */
export async function readDeadLetters(
	ctx: ServiceContext,
	batchId: string,
	limit: number,
	errorClass?: string,
): Promise<{ deadLetters: DeadLetter[]; total: number }> {
	const orderKey = ctx.keys.batchPart(batchId, 'dead-order');
	const all = await ctx.redis.zcard(orderKey);
	const total = errorClass
		? Number((await ctx.redis.hget(ctx.keys.batchPart(batchId, 'dead-classes'), errorClass)) ?? 0)
		: all;
	const deadLetters: DeadLetter[] = [];
	for (let offset = 0; offset < all && deadLetters.length < limit; offset += 500) {
		const keys = await ctx.redis.zrange(orderKey, offset, offset + 499);
		if (keys.length === 0) break;
		const infos = await ctx.redis.hmget(ctx.keys.batchPart(batchId, 'dead'), ...keys);
		keys.forEach((key, i) => {
			if (!infos[i] || deadLetters.length >= limit) return;
			const info = JSON.parse(infos[i] as string);
			if (errorClass && info.class !== errorClass) return;
			deadLetters.push({
				key,
				class: info.class,
				message: info.message,
				attempts: info.attempts,
				...(info.httpCode ? { httpCode: info.httpCode } : {}),
				chunkIndex: info.chunkIndex,
				firstAt: new Date(info.firstAt).toISOString(),
				lastAt: new Date(info.lastAt).toISOString(),
				...(info.lease
					? {
							inDoubt: {
								lease: info.lease,
								leaseStartedAt: iso(info.leaseStartedAt),
								leaseExpiredAt: iso(info.leaseExpiredAt),
								cause: info.cause ?? null,
							},
						}
					: {}),
			});
		});
	}
	return { deadLetters, total };
}

/** The latest n8n executions of each chunk, as Claim and Record Results named them. */
export async function readExecutions(
	ctx: ServiceContext,
	batchId: string,
	chunkIndexes?: number[],
): Promise<Record<string, Array<{ id: string; workflowId: string; status: string; at: string }>>> {
	const key = ctx.keys.batchPart(batchId, 'executions');
	let entries: Array<[string, string | null]>;
	if (chunkIndexes) {
		if (chunkIndexes.length === 0) return {};
		const values = await ctx.redis.hmget(key, ...chunkIndexes.map(String));
		entries = chunkIndexes.map((index, i) => [String(index), values[i]]);
	} else {
		entries = Object.entries(await ctx.redis.hgetall(key));
	}
	const out: Record<
		string,
		Array<{ id: string; workflowId: string; status: string; at: string }>
	> = {};
	for (const [index, raw] of entries) {
		if (!raw) continue;
		out[index] = (
			JSON.parse(raw) as Array<{ id: string; workflowId: string; status: string; at: number }>
		).map((e) => ({ ...e, at: new Date(e.at).toISOString() }));
	}
	return out;
}
