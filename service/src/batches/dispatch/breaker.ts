import { createHash } from 'node:crypto';
import path from 'node:path';

import type { ServiceContext } from '../../context';
import { loadScripts, type LuaScript } from '../../redis/scripts';

export interface BreakerState {
	state: 'closed' | 'open' | 'half_open';
	consecutiveFailures: number;
	openedAt: string | null;
}

/** go: a dispatch may be sent (probe: as the half-open probe; failures counted so far). */
export type BreakerGate =
	| { go: true; probe: boolean; failures?: number; now: number }
	| { go: false; retryAt: number; now: number };

/** A digest keeps URLs (colons, slashes, maybe secrets in the query) out of key names and labels. */
export const targetDigest = (targetUrl: string): string =>
	createHash('sha256').update(targetUrl).digest('hex').slice(0, 24);

/** Circuit breaker per target URL, in Redis, so every process and batch posting there shares it. */
export class Breaker {
	private readonly script: LuaScript;

	constructor(private readonly ctx: ServiceContext) {
		this.script = loadScripts(ctx.redis, path.join(__dirname, 'lua')).breaker;
	}

	/** go:false while open (or a half-open probe is out): retry at retryAt (Redis time). */
	async acquire(targetUrl: string, probeMs: number): Promise<BreakerGate> {
		return (await this.run(targetUrl, 'acquire', probeMs)) as BreakerGate;
	}

	/** Records a dispatch's outcome: the breaker's state, and openedAt when this call opened it. */
	async record(
		targetUrl: string,
		outcome: 'success' | 'failure' | 'release',
	): Promise<{ state: BreakerState['state']; openedAt?: number }> {
		const reply = (await this.run(targetUrl, outcome, 0)) as {
			state: BreakerState['state'];
			opened: boolean;
			openedAt: number;
		};
		return reply.opened ? { state: reply.state, openedAt: reply.openedAt } : { state: reply.state };
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

	private async run(targetUrl: string, op: string, probeMs: number): Promise<unknown> {
		const { BREAKER_FAILURES, BREAKER_COOLDOWN_MS } = this.ctx.config;
		const raw = await this.script(
			this.key(targetUrl),
			op,
			BREAKER_FAILURES,
			BREAKER_COOLDOWN_MS,
			probeMs,
		);
		return JSON.parse(String(raw));
	}

	private key(targetUrl: string): string {
		return this.ctx.keys.breaker(targetDigest(targetUrl));
	}
}
