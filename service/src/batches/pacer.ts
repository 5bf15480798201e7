import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';
import type { Logger } from '../logger';
import { Limiter } from '../limits/limiter';

/**
 * Paces chunk dispatch by the batch's limiter key (cost = items in the dispatch), through the
 * shared token buckets of service/src/limits. A key without stored settings has no rate to keep:
 * the chunk goes unpaced and the log says so. A dispatch larger than the bucket is paid in parts.
 */
export class Pacer {
	private readonly limiter: Limiter;

	constructor(private readonly ctx: ServiceContext) {
		this.limiter = new Limiter(ctx);
	}

	async pace(
		limiterKey: string | undefined,
		cost: number,
		log: Logger,
	): Promise<{ granted: boolean; retryAfterMs: number }> {
		if (!limiterKey) return { granted: true, retryAfterMs: 0 };
		const maxWaitMs = this.ctx.config.LIMITER_MAX_WAIT_MS;
		try {
			return await this.limiter.acquire(limiterKey, cost, maxWaitMs);
		} catch (error) {
			if (!(error instanceof ApiError)) throw error;
			if (error.code === 'limiter_not_configured') {
				log.warn({ limiterKey }, 'limiter key has no settings; chunk dispatched unpaced');
				return { granted: true, retryAfterMs: 0 };
			}
			if (error.code !== 'cost_above_capacity') throw error;
			const { capacity } = (await this.limiter.state(limiterKey)).settings;
			for (let left = cost; left > 0; left -= capacity) {
				const part = await this.limiter.acquire(limiterKey, Math.min(left, capacity), maxWaitMs);
				if (!part.granted) return part;
			}
			return { granted: true, retryAfterMs: 0 };
		}
	}
}
