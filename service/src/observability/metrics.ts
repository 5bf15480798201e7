/**
 * Batch, chunk, queue, limiter and circuit metrics for Prometheus (names in grafana/batch-guardian.json).
 * The engine calls the small functions below; nothing here reads Redis except queue depth, which
 * is asked of BullMQ at scrape time. Per-batch series are bounded: at most `maxBatches` batch
 * label values at once (the rest are counted under batch="_other"), and a finished batch's series
 * are removed `lingerMs` after forgetBatch(), so the last values are scraped before they go.
 */
import { Gauge } from 'prom-client';

import { counter, gauge, histogram, registry } from '../metrics';

/** dead_lettered: failed for good; in_doubt: held (hold policy), never sent twice; skipped: duplicate key. */
export const ITEM_OUTCOMES = [
	'succeeded',
	'retry_scheduled',
	'dead_lettered',
	'in_doubt',
	'skipped',
] as const;
export type ItemOutcome = (typeof ITEM_OUTCOMES)[number];
export type ChunkOutcome = 'ok' | 'failed' | 'released';
export type CircuitState = 'closed' | 'half_open' | 'open';

export const OTHER_BATCHES = '_other';
const CIRCUIT_VALUE: Record<CircuitState, number> = { closed: 0, half_open: 1, open: 2 };
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

const items = counter('bg_items_total', 'Items settled, by outcome (all batches)', ['outcome']);
const batchItems = counter('bg_batch_items_total', 'Items settled, by batch and outcome', [
	'batch',
	'outcome',
]);
const chunkSeconds = histogram(
	'bg_chunk_duration_seconds',
	'Time from a chunk dispatch to its recorded outcome',
	['outcome'],
	[0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
);
const chunksInFlight = gauge('bg_chunks_in_flight', 'Chunks this process is dispatching now', [
	'batch',
]);
const circuitState = gauge(
	'bg_circuit_state',
	'Circuit breaker per target (digest of its URL) as this process last saw it: 0 closed, 1 half open, 2 open',
	['target'],
);
const limiterGranted = counter('bg_limiter_granted_tokens_total', 'Tokens granted by limiters', [
	'limiter',
]);
const limiterRefusals = counter(
	'bg_limiter_refusals_total',
	'Acquires refused: no capacity within max wait',
	['limiter'],
);
const limiterThrottles = counter('bg_limiter_throttles_total', 'Downstream throttles reported', [
	'limiter',
]);
const limiterWaitSeconds = counter(
	'bg_limiter_wait_seconds_total',
	'Seconds callers were held waiting for limiter tokens',
	['limiter'],
);
const limiterAcquireSeconds = histogram(
	'bg_limiter_acquire_seconds',
	'Time from acquire to answer, waiting included',
	['outcome'],
	[0.005, 0.025, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
);

/** Label values of one dimension, capped; values past the cap share OTHER_BATCHES. */
class CappedLabels {
	private readonly values = new Set<string>();
	constructor(public max: number) {}

	of(value: string): string {
		if (this.values.has(value)) return value;
		if (this.values.size >= this.max) return OTHER_BATCHES;
		this.values.add(value);
		return value;
	}

	has(value: string): boolean {
		return this.values.has(value);
	}

	delete(value: string): void {
		this.values.delete(value);
	}
}

const options = { maxBatches: 100, lingerMs: 120_000, maxLimiters: 100 };
const batches = new CappedLabels(options.maxBatches);
const limiters = new CappedLabels(options.maxLimiters);
const forgetting = new Map<string, NodeJS.Timeout>();

/** Cap on batch label values and how long a finished batch's series stay; defaults 100 and 120 s. */
export function setBatchLabelLimits(limits: { maxBatches?: number; lingerMs?: number }): void {
	Object.assign(options, limits);
	batches.max = options.maxBatches;
}

/** n items of a batch reached `outcome` (call once per settle with each non-zero count). */
export function recordItemOutcomes(batchId: string, outcome: ItemOutcome, n: number): void {
	if (n <= 0) return;
	items.inc({ outcome }, n);
	batchItems.inc({ batch: batchLabel(batchId), outcome }, n);
}

/**
 * A chunk dispatch began in this process; call the answer when its outcome is recorded (or it was
 * released): counts it in flight meanwhile and observes its duration.
 */
export function startChunk(batchId: string): (outcome: ChunkOutcome) => void {
	const batch = batchLabel(batchId);
	chunksInFlight.inc({ batch });
	const started = performance.now();
	let ended = false;
	return (outcome) => {
		if (ended) return;
		ended = true;
		chunksInFlight.dec({ batch });
		chunkSeconds.observe({ outcome }, (performance.now() - started) / 1000);
	};
}

/** What the breaker script answered for a target; targetDigest keeps URLs out of labels. */
export function setCircuitState(targetDigest: string, state: CircuitState): void {
	circuitState.set({ target: targetDigest }, CIRCUIT_VALUE[state]);
}

/** The batch finished (or was deleted): its series go after the linger, freeing its label slot. */
export function forgetBatch(batchId: string): void {
	if (!batches.has(batchId) || forgetting.has(batchId)) return;
	const timer = setTimeout(() => {
		forgetting.delete(batchId);
		for (const outcome of ITEM_OUTCOMES) batchItems.remove({ batch: batchId, outcome });
		chunksInFlight.remove({ batch: batchId });
		batches.delete(batchId);
	}, options.lingerMs);
	timer.unref();
	forgetting.set(batchId, timer);
}

export function recordLimiterAcquire(
	limiterKey: string,
	granted: boolean,
	cost: number,
	seconds: number,
): void {
	const limiter = limiters.of(limiterKey);
	limiterAcquireSeconds.observe({ outcome: granted ? 'granted' : 'refused' }, seconds);
	limiterWaitSeconds.inc({ limiter }, seconds);
	if (granted) limiterGranted.inc({ limiter }, cost);
	else limiterRefusals.inc({ limiter });
}

/** Split's take: `granted` tokens given now; refused when some costs were left over. */
export function recordLimiterTake(limiterKey: string, granted: number, refused: boolean): void {
	const limiter = limiters.of(limiterKey);
	if (granted > 0) limiterGranted.inc({ limiter }, granted);
	if (refused) limiterRefusals.inc({ limiter });
}

export function recordLimiterThrottle(limiterKey: string): void {
	limiterThrottles.inc({ limiter: limiters.of(limiterKey) });
}

function batchLabel(batchId: string): string {
	// A batch running again after forgetBatch (a replay) keeps its series.
	const timer = forgetting.get(batchId);
	if (timer) {
		clearTimeout(timer);
		forgetting.delete(batchId);
	}
	return batches.of(batchId);
}

/** Job counts of one BullMQ queue, asked at scrape time. */
export type QueueCounts = () => Promise<Partial<Record<(typeof QUEUE_STATES)[number], number>>>;
const queueSources = new Map<string, { queue: string; prefix: string; counts: QueueCounts }>();

new Gauge({
	name: 'bg_queue_jobs',
	help: 'BullMQ jobs per queue and state, read at scrape time',
	labelNames: ['queue', 'prefix', 'state'],
	registers: [registry],
	async collect() {
		this.reset();
		for (const source of queueSources.values()) {
			// A scrape while Redis is away shows no queue series rather than failing the whole scrape.
			const counts = await source.counts().catch(() => undefined);
			if (!counts) continue;
			for (const state of QUEUE_STATES)
				this.set({ queue: source.queue, prefix: source.prefix, state }, Number(counts[state] ?? 0));
		}
	},
});

/** Reports a queue's depth at every scrape until the returned function is called. */
export function watchQueueDepth(queue: string, prefix: string, counts: QueueCounts): () => void {
	const id = `${prefix}:${queue}`;
	const source = { queue, prefix, counts };
	queueSources.set(id, source);
	return () => {
		if (queueSources.get(id) === source) queueSources.delete(id);
	};
}

export { QUEUE_STATES };
