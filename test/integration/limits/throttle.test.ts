import { authed, hammer, sleep, withLimiterService } from './helpers';

describe('limiter throttle feedback (real Redis)', () => {
	const env = withLimiterService();

	it('a reported 429 pauses every caller of the key, queued ones included', async () => {
		await env.limiter.configure('pause', { capacity: 5, refillAmount: 20, refillUnit: 'second' });
		let throttledAt = 0;
		const reporter = (async () => {
			await sleep(1_000);
			const res = await authed(env.service.app)
				.post('/v1/limiters/pause/throttle')
				.send({ retryAfterMs: 1_500 })
				.expect(200);
			throttledAt = Date.now();
			expect(res.body).toMatchObject({ state: 'paused', throttles: 1 });
			expect(res.body.pausedForMs).toBeGreaterThan(1_400);
		})();
		const grants = await hammer([env.service.app], 'pause', {
			callers: 3,
			durationMs: 3_500,
			maxWaitMs: 3_000,
		});
		await reporter;
		// Answers already on the wire may land just after the report; nothing is granted later.
		const during = grants.filter((g) => g.at > throttledAt + 60 && g.at < throttledAt + 1_450);
		expect(during).toEqual([]);
		const after = grants.filter((g) => g.at >= throttledAt + 1_450);
		expect(new Set(after.map((g) => g.caller))).toEqual(new Set([0, 1, 2]));
		// The bucket restarts empty after the pause: no burst of 5, just the rate (20/s).
		const firstSecondAfter = after.filter((g) => g.at < throttledAt + 1_500 + 1_000);
		expect(firstSecondAfter.length).toBeLessThanOrEqual(20 + 1);
	}, 15_000);

	it('refuses during a pause when maxWait is shorter, with retryAfterMs past the pause', async () => {
		await env.limiter.configure('paused', { capacity: 3, refillAmount: 10, refillUnit: 'second' });
		await env.limiter.reportThrottle('paused', 2_000);
		const answer = await env.limiter.acquire('paused', 1, 500);
		expect(answer.granted).toBe(false);
		expect(answer.retryAfterMs).toBeGreaterThan(1_900);
		expect(answer.retryAfterMs).toBeLessThanOrEqual(2_100);
	});

	it('repeated reports of the same overload extend the pause, they do not add up', async () => {
		await env.limiter.configure('echo', { capacity: 3, refillAmount: 10, refillUnit: 'second' });
		for (let i = 0; i < 4; i++) await env.limiter.reportThrottle('echo', 1_000);
		const state = await env.limiter.state('echo');
		expect(state.throttles).toBe(4);
		expect(state.pausedForMs).toBeLessThanOrEqual(1_000);
		expect(state.pausedForMs).toBeGreaterThan(800);
	});

	it('adaptive: halves the rate once per overload and recovers step by step', async () => {
		const settings = {
			capacity: 1,
			refillAmount: 10,
			refillUnit: 'second' as const,
			adaptive: true,
			recoveryStepMs: 400,
		};
		await env.limiter.configure('adaptive', settings);
		const cut = await env.limiter.reportThrottle('adaptive', 0);
		expect(cut).toMatchObject({ state: 'reduced', currentRefillAmount: 5 });
		// An echo of the same overload does not cut again.
		expect((await env.limiter.reportThrottle('adaptive', 0)).currentRefillAmount).toBe(5);

		// Measured: 4 tokens after the (drained) cut take 4 x 200 ms at 5/s, not 4 x 100 ms.
		const t0 = Date.now();
		const answers = await Promise.all(
			Array.from({ length: 4 }, () => env.limiter.acquire('adaptive', 1, 2_000)),
		);
		expect(answers.every((a) => a.granted)).toBe(true);
		const elapsed = Date.now() - t0;
		expect(elapsed).toBeGreaterThan(650);
		expect(elapsed).toBeLessThan(1_000);

		// Additive recovery: +1 (a tenth of 10) per 400 ms without throttles, up to 10.
		const recovering = await env.limiter.state('adaptive');
		expect(recovering.currentRefillAmount).toBeGreaterThanOrEqual(6);
		expect(recovering.currentRefillAmount).toBeLessThan(10);
		await sleep(2_200);
		expect(await env.limiter.state('adaptive')).toMatchObject({
			state: 'ok',
			currentRefillAmount: 10,
		});
	}, 10_000);

	it('adaptive never cuts below a tenth of the configured refill', async () => {
		const settings = {
			capacity: 1,
			refillAmount: 100,
			refillUnit: 'second' as const,
			adaptive: true,
			recoveryStepMs: 100,
		};
		await env.limiter.configure('floor', settings);
		// Each report pauses 100 ms, so no recovery step fits between them: 100, 50, 25, 12.5, 10.
		const rates: number[] = [];
		for (let i = 0; i < 6; i++) {
			rates.push((await env.limiter.reportThrottle('floor', 100)).currentRefillAmount);
			await sleep(110);
		}
		expect(rates).toEqual([50, 25, 12.5, 10, 10, 10]);
	});
});

describe('limiter keys nobody uses expire (LIMITER_IDLE_HOURS)', () => {
	it('a key is forgotten, settings included, once idle for the configured time', async () => {
		const { createTestService } = await import('../../harness/service');
		const { Limiter } = await import('../../../service/src/limits/limiter');
		const service = createTestService({ LIMITER_IDLE_HOURS: '0.0003' });
		try {
			const limiter = new Limiter(service.ctx);
			await limiter.configure('idle-key', { capacity: 5, refillAmount: 5, refillUnit: 'second' });
			const key = service.ctx.keys.limiter('idle-key');
			const ttl = await service.ctx.redis.pttl(key);
			expect(ttl).toBeGreaterThan(0);
			expect(ttl).toBeLessThanOrEqual(1080);
			// Use renews it.
			await new Promise((resolve) => setTimeout(resolve, 500));
			await limiter.acquire('idle-key', 1, 0);
			expect(await service.ctx.redis.pttl(key)).toBeGreaterThan(900);
			await new Promise((resolve) => setTimeout(resolve, 1300));
			expect(await service.ctx.redis.exists(key)).toBe(0);
			await expect(limiter.state('idle-key')).rejects.toThrow(/no settings/);
		} finally {
			await service.cleanup();
		}
	});
});
