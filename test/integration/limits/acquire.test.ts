import { Redis } from 'ioredis';

import { createApp } from '../../../service/src/app';
import { assembleBatches } from '../../../service/src/batches';
import { authed, hammer, maxInWindow, sleep, withLimiterService } from './helpers';

describe('limiter acquire (real Redis)', () => {
	const env = withLimiterService();

	const configure = (key: string, capacity: number, refillAmount: number, refillUnit = 'second') =>
		authed(env.service.app)
			.put(`/v1/limiters/${key}`)
			.send({ capacity, refillAmount, refillUnit })
			.expect(200);

	it('grants exactly the capacity to 200 simultaneous takers (atomic)', async () => {
		await env.limiter.configure('atomic', { capacity: 50, refillAmount: 1, refillUnit: 'hour' });
		const answers = await Promise.all(
			Array.from({ length: 200 }, () => env.limiter.take('atomic', [1])),
		);
		expect(answers.reduce((sum, a) => sum + a.granted, 0)).toBe(50);
		expect((await env.limiter.state('atomic')).grantedTokens).toBe(50);
	});

	it('never lets 4 concurrent acquirers exceed capacity + rate x window', async () => {
		await configure('window', 5, 20);
		const started = Date.now();
		const grants = await hammer([env.service.app], 'window', { callers: 4, durationMs: 3_000 });
		const spanMs = Math.max(...grants.map((g) => g.at)) - started;
		const total = grants.length;
		// Token bucket bound: capacity + rate * elapsed; +1 for the answer's arrival jitter.
		expect(total).toBeLessThanOrEqual(5 + (20 * spanMs) / 1000 + 1);
		expect(total).toBeGreaterThanOrEqual(5 + 20 * 2.7);
		expect(maxInWindow(grants, 1_000)).toBeLessThanOrEqual(5 + 20 + 1);
		expect(maxInWindow(grants, 250)).toBeLessThanOrEqual(5 + 5 + 1);
		// Everybody was served, nobody starved.
		for (let caller = 0; caller < 4; caller++) {
			expect(grants.filter((g) => g.caller === caller).length).toBeGreaterThan(total / 8);
		}
	}, 15_000);

	it('serves waiters in arrival order, across two service apps on one Redis', async () => {
		const second = new Redis(env.service.ctx.redisTarget.url);
		const otherCtx = { ...env.service.ctx, redis: second };
		const otherBatches = assembleBatches(otherCtx);
		const other = createApp(otherCtx, otherBatches);
		try {
			await configure('fifo', 1, 10);
			await env.limiter.acquire('fifo', 1, 0); // drain the bucket: everyone below must queue
			const finished: number[] = [];
			const calls: Array<Promise<unknown>> = [];
			for (let i = 0; i < 8; i++) {
				const app = i % 2 === 0 ? env.service.app : other;
				calls.push(
					authed(app)
						.post('/v1/limiters/fifo/acquire')
						.send({ cost: 1, maxWaitMs: 5_000 })
						.then((res) => {
							expect(res.body.granted).toBe(true);
							finished.push(i);
						}),
				);
				await sleep(15);
			}
			await Promise.all(calls);
			expect(finished).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
		} finally {
			await otherBatches.stop(0);
			second.disconnect();
		}
	});

	it('refuses at once, without reserving, when the slot is beyond maxWait', async () => {
		await configure('maxwait', 2, 1);
		const api = authed(env.service.app);
		await api.post('/v1/limiters/maxwait/acquire').send({ cost: 2, maxWaitMs: 0 }).expect(200);

		const t0 = Date.now();
		const refused = await api
			.post('/v1/limiters/maxwait/acquire')
			.send({ cost: 1, maxWaitMs: 200 })
			.expect(200);
		expect(Date.now() - t0).toBeLessThan(150);
		expect(refused.body).toMatchObject({ granted: false, waitedMs: 0 });
		expect(refused.body.retryAfterMs).toBeGreaterThan(700);
		expect(refused.body.retryAfterMs).toBeLessThanOrEqual(1_000);

		// The refusal reserved nothing: the next caller still gets the first token, ~1 s away.
		const granted = await api
			.post('/v1/limiters/maxwait/acquire')
			.send({ cost: 1, maxWaitMs: 1_500 })
			.expect(200);
		expect(granted.body.granted).toBe(true);
		expect(granted.body.waitedMs).toBeGreaterThan(600);
		expect(granted.body.waitedMs).toBeLessThan(1_100);
	});

	it('two service apps on one Redis share one budget', async () => {
		const second = new Redis(env.service.ctx.redisTarget.url);
		const otherCtx = { ...env.service.ctx, redis: second };
		const otherBatches = assembleBatches(otherCtx);
		const other = createApp(otherCtx, otherBatches);
		try {
			await configure('shared', 4, 10);
			const started = Date.now();
			const grants = await hammer([env.service.app, other], 'shared', {
				callers: 4,
				durationMs: 2_000,
			});
			const spanMs = Math.max(...grants.map((g) => g.at)) - started;
			expect(grants.length).toBeLessThanOrEqual(4 + (10 * spanMs) / 1000 + 1);
			expect(grants.length).toBeGreaterThanOrEqual(4 + 10 * 1.7);
			expect(maxInWindow(grants, 1_000)).toBeLessThanOrEqual(4 + 10 + 1);
			// Both apps handed out grants from the same bucket.
			expect(new Set(grants.map((g) => g.caller % 2))).toEqual(new Set([0, 1]));
		} finally {
			await otherBatches.stop(0);
			second.disconnect();
		}
	}, 10_000);

	it('gives a reservation back when the caller goes away', async () => {
		await env.limiter.configure('abort', { capacity: 1, refillAmount: 1, refillUnit: 'second' });
		await env.limiter.acquire('abort', 1, 0);
		const hangUp = new AbortController();
		const waiting = env.limiter.acquire('abort', 1, 5_000, { signal: hangUp.signal });
		await sleep(50);
		hangUp.abort();
		expect(await waiting).toMatchObject({ granted: false });
		// Only the first grant is counted; the abandoned slot is free for the next caller.
		expect((await env.limiter.state('abort')).grantedTokens).toBe(1);
		const next = await env.limiter.acquire('abort', 1, 2_000);
		expect(next.granted).toBe(true);
		expect(next.waitedMs).toBeLessThan(1_000);
	});

	it('take grants the longest available prefix and says when the rest can go', async () => {
		await env.limiter.configure('split', { capacity: 5, refillAmount: 2, refillUnit: 'second' });
		const first = await env.limiter.take('split', [2, 2, 2, 1]);
		expect(first.granted).toBe(2);
		expect(first.retryAfterMs).toBeGreaterThan(400);
		expect(first.retryAfterMs).toBeLessThanOrEqual(500);
	});
});
