import { ApiError } from '../../http/errors';
import type { Logger } from '../../logger';
import type { Limiter } from '../../limits/limiter';
import type { BatchEvents } from '../events';

/** States in which a waiting dispatch gives its reservation back instead of going on. */
const STOP_STATES = new Set(['paused', 'cancelled', 'aborted', 'deleted']);

export interface Paced {
	granted: boolean;
	/** Tokens paid for (0 without a limiter key: then nothing limits the dispatch). */
	tokens: number;
	retryAfterMs: number;
}

/**
 * Paces chunk dispatch by the batch's limiter key (cost = items due), through the shared token
 * buckets of service/src/limits, BEFORE any item is leased: a dispatch waiting for tokens holds
 * no lease and no concurrency slot, so neither can expire while it waits. A cost larger than the
 * bucket is paid in parts. A key without stored settings has no rate to keep: the chunk goes
 * unpaced and the log says so.
 */
export class Pacer {
	constructor(
		private readonly limiter: Limiter,
		private readonly maxWaitMs: number,
		private readonly events: BatchEvents,
	) {}

	/**
	 * Waits for `cost` tokens of the batch's limiter; a pause or cancel of the batch (or a shutdown)
	 * meanwhile gives the reservation back and answers not granted.
	 */
	async pace(
		limiterKey: string | undefined,
		cost: number,
		options: { batchId: string; shutdown: AbortSignal; log: Logger },
	): Promise<Paced> {
		const stop = new AbortController();
		const onShutdown = (): void => stop.abort();
		options.shutdown.addEventListener('abort', onShutdown, { once: true });
		let waiting = true;
		let current: { cancel(): void } | undefined;
		void (async () => {
			while (waiting) {
				const next = await this.events.next(options.batchId);
				current = next;
				if (!waiting) return next.cancel();
				if (STOP_STATES.has(await next.changed)) stop.abort();
			}
		})().catch(() => undefined);
		try {
			return await this.payFor(limiterKey, cost, stop.signal, options.log);
		} finally {
			waiting = false;
			current?.cancel();
			options.shutdown.removeEventListener('abort', onShutdown);
			stop.abort();
		}
	}

	private async payFor(
		limiterKey: string | undefined,
		cost: number,
		signal: AbortSignal,
		log: Logger,
	): Promise<Paced> {
		if (!limiterKey || cost <= 0) return { granted: true, tokens: 0, retryAfterMs: 0 };
		try {
			const answer = await this.limiter.acquire(limiterKey, cost, this.maxWaitMs, { signal });
			return { ...answer, tokens: answer.granted ? cost : 0 };
		} catch (error) {
			if (!(error instanceof ApiError)) throw error;
			if (error.code === 'limiter_not_configured') {
				log.warn({ limiterKey }, 'limiter key has no settings; chunk dispatched unpaced');
				return { granted: true, tokens: 0, retryAfterMs: 0 };
			}
			if (error.code !== 'cost_above_capacity') throw error;
		}
		const { capacity } = (await this.limiter.state(limiterKey)).settings;
		let paid = 0;
		for (let left = cost; left > 0; left -= capacity) {
			const part = await this.limiter.acquire(
				limiterKey,
				Math.min(left, capacity),
				this.maxWaitMs,
				{
					signal,
				},
			);
			if (!part.granted) {
				await this.limiter.release(limiterKey, paid);
				return { granted: false, tokens: 0, retryAfterMs: part.retryAfterMs };
			}
			paid += Math.min(left, capacity);
		}
		return { granted: true, tokens: paid, retryAfterMs: 0 };
	}

	/** Tokens paid but not used: fewer items were due when the dispatch started, or none. */
	async giveBack(limiterKey: string | undefined, tokens: number): Promise<void> {
		if (limiterKey && tokens > 0) await this.limiter.release(limiterKey, tokens);
	}
}
