import type { ServiceContext } from '../context';
import type { Breaker } from './breaker';
import type { BatchProgress, BatchState, DeadLetter } from './schemas';
import type { BatchStore } from './store';

const iso = (ms: string | undefined): string | null =>
	ms && Number(ms) > 0 ? new Date(Number(ms)).toISOString() : null;

export interface LoadedBatch {
	hash: Record<string, string>;
	progress: BatchProgress;
}

/** Progress of a batch from its hash, error and rate parts; null when no such batch. */
export async function loadBatch(
	ctx: ServiceContext,
	store: BatchStore,
	breaker: Breaker,
	batchId: string,
): Promise<LoadedBatch | null> {
	const replies = await ctx.redis
		.multi()
		.hgetall(store.key(batchId))
		.hgetall(store.part(batchId, 'errors'))
		.hgetall(store.part(batchId, 'samples'))
		.hgetall(store.part(batchId, 'rate'))
		.exec();
	const [hash, errors, samples, rate] = (replies ?? []).map(
		([, value]) => (value ?? {}) as Record<string, string>,
	);
	if (!hash?.state) return null;
	const n = (field: string): number => Number(hash[field] ?? 0);
	const counts = {
		total: n('total'),
		pending: n('pending'),
		inFlight: n('inFlight'),
		retrying: n('retrying'),
		succeeded: n('succeeded'),
		skipped: n('skipped'),
		deadLettered: n('deadLettered'),
	};
	const finished = counts.succeeded + counts.skipped + counts.deadLettered;
	const left = counts.pending + counts.retrying + counts.inFlight;
	const itemsPerSecond = rateOverLastMinute(rate, Number(hash.startedAt ?? 0));
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
		chunks: { total: n('chunksTotal'), done: n('chunksDone') },
		errorClasses,
		breaker: hash.targetUrl ? await breaker.read(hash.targetUrl) : null,
		abortReason: hash.abortReason ?? null,
		createdAt: iso(hash.createdAt) ?? new Date(0).toISOString(),
		startedAt: iso(hash.startedAt),
		finishedAt: iso(hash.finishedAt),
		meta: hash.meta ? JSON.parse(hash.meta) : {},
	};
	return { hash, progress };
}

/** Finished items per second over the last minute (or since the start, when that is shorter). */
function rateOverLastMinute(buckets: Record<string, string>, startedAt: number): number {
	const now = Date.now();
	const second = Math.floor(now / 1000);
	let sum = 0;
	for (const [bucket, count] of Object.entries(buckets)) {
		if (Number(bucket) > second - 60) sum += Number(count);
	}
	if (sum === 0) return 0;
	const window = Math.min(60, Math.max(1, (now - (startedAt || now)) / 1000));
	return Math.round((sum / window) * 100) / 100;
}

/** Dead letters in the order they died, optionally of one error class. */
export async function readDeadLetters(
	ctx: ServiceContext,
	store: BatchStore,
	batchId: string,
	limit: number,
	errorClass?: string,
): Promise<{ deadLetters: DeadLetter[]; total: number }> {
	const orderKey = store.part(batchId, 'dead-order');
	const total = await ctx.redis.zcard(orderKey);
	const deadLetters: DeadLetter[] = [];
	for (let offset = 0; offset < total && deadLetters.length < limit; offset += 500) {
		const keys = await ctx.redis.zrange(orderKey, offset, offset + 499);
		if (keys.length === 0) break;
		const infos = await ctx.redis.hmget(store.part(batchId, 'dead'), ...keys);
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
			});
		});
	}
	return { deadLetters, total };
}
