import { createHash } from 'node:crypto';

import type { ServiceContext } from '../context';
import type { BatchStore } from './store';

export interface BreakerState {
	state: 'closed' | 'open' | 'half_open';
	consecutiveFailures: number;
	openedAt: string | null;
}

/** Circuit breaker per target URL, in Redis, so every process and batch posting there shares it. */
export class Breaker {
	private readonly script;

	constructor(
		private readonly ctx: ServiceContext,
		store: BatchStore,
	) {
		this.script = store.breakerScript();
	}

	/** go:false while open (or a half-open probe is out): retry at retryAt. */
	async acquire(
		targetUrl: string,
		probeMs: number,
	): Promise<{ go: true; probe: boolean } | { go: false; retryAt: number }> {
		const reply = (await this.run(targetUrl, 'acquire', probeMs)) as number[];
		return Number(reply[0]) === 1
			? { go: true, probe: Number(reply[1]) === 1 }
			: { go: false, retryAt: Number(reply[1]) };
	}

	async record(targetUrl: string, outcome: 'success' | 'failure' | 'release'): Promise<void> {
		await this.run(targetUrl, outcome, 0);
	}

	async read(targetUrl: string): Promise<BreakerState> {
		const hash = await this.ctx.redis.hgetall(this.key(targetUrl));
		const openedAt = Number(hash.openedAt ?? 0);
		return {
			state: (hash.state as BreakerState['state'] | undefined) ?? 'closed',
			consecutiveFailures: Number(hash.failures ?? 0),
			openedAt: openedAt > 0 ? new Date(openedAt).toISOString() : null,
		};
	}

	private run(targetUrl: string, op: string, probeMs: number) {
		const { BREAKER_FAILURES, BREAKER_COOLDOWN_MS } = this.ctx.config;
		return this.script(this.key(targetUrl), op, BREAKER_FAILURES, BREAKER_COOLDOWN_MS, probeMs);
	}

	private key(targetUrl: string): string {
		// A digest keeps URLs (with their colons and slashes, maybe secrets in the query) out of key names.
		return this.ctx.keys.breaker(createHash('sha256').update(targetUrl).digest('hex').slice(0, 24));
	}
}
