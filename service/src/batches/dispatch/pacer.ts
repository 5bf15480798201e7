import { ApiError } from '../../http/errors';
import type { Logger } from '../../logger';
import type { Limiter } from '../../limits/limiter';

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
	) {}

	async pace(
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
