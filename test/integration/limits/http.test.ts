import request from 'supertest';

import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import { authed } from './helpers';

const good = { capacity: 10, refillAmount: 600, refillUnit: 'minute' };

describe('limiter HTTP API (real Redis)', () => {
	let service: TestService;
	beforeAll(() => {
		service = createTestService();
	});
	afterAll(async () => service.cleanup());

	it('stores settings and reports state', async () => {
		const put = await authed(service.app).put('/v1/limiters/api-1').send(good).expect(200);
		expect(put.body).toMatchObject({
			limiterKey: 'api-1',
			settings: { ...good, adaptive: false, recoveryStepMs: 5000 },
			currentRefillAmount: 600,
			tokens: 10,
			state: 'ok',
			pausedUntil: null,
			throttles: 0,
			grantedTokens: 0,
		});
		await authed(service.app).post('/v1/limiters/api-1/acquire').send({ cost: 3 }).expect(200);
		const state = await authed(service.app).get('/v1/limiters/api-1').expect(200);
		expect(state.body.grantedTokens).toBe(3);
		expect(state.body.tokens).toBeGreaterThanOrEqual(7);
		expect(state.body.tokens).toBeLessThan(8);
	});

	it('accepts settings along with an acquire (last writer wins)', async () => {
		const res = await authed(service.app)
			.post('/v1/limiters/api-2/acquire')
			.send({ cost: 2, maxWaitMs: 0, settings: { ...good, capacity: 2 } })
			.expect(200);
		expect(res.body).toEqual({ granted: true, waitedMs: expect.any(Number), retryAfterMs: 0 });
		await authed(service.app)
			.put('/v1/limiters/api-2')
			.send({ ...good, capacity: 7 })
			.expect(200);
		const state = await authed(service.app).get('/v1/limiters/api-2').expect(200);
		expect(state.body.settings.capacity).toBe(7);
	});

	it('answers 404 for a key that was never configured', async () => {
		const res = await authed(service.app).post('/v1/limiters/nobody/acquire').send({ cost: 1 });
		expect(res.status).toBe(404);
		expect(res.body.error.code).toBe('limiter_not_configured');
		expect((await authed(service.app).get('/v1/limiters/nobody')).status).toBe(404);
	});

	it.each([
		['capacity', { ...good, capacity: 0 }, /^Invalid settings: capacity must be at least 1/],
		['capacity', { ...good, capacity: -3 }, /capacity must be at least 1/],
		['capacity', { ...good, capacity: 2.5 }, /capacity must be a whole number/],
		['capacity', { ...good, capacity: '10' }, /capacity must be a number/],
		['refillAmount', { ...good, refillAmount: 0 }, /refillAmount must be at least 1/],
		['refillAmount', { ...good, refillAmount: -60 }, /refillAmount must be at least 1/],
		['refillAmount', { ...good, refillAmount: 0.5 }, /refillAmount must be a whole number/],
		['refillUnit', { ...good, refillUnit: 'day' }, /refillUnit must be second, minute or hour/],
		['refillUnit', { capacity: 1, refillAmount: 1 }, /refillUnit must be second, minute or hour/],
		['adaptive', { ...good, adaptive: 'yes' }, /adaptive must be true or false/],
		['recoveryStepMs', { ...good, recoveryStepMs: 5 }, /recoveryStepMs must be at least 100/],
		['an unknown field', { ...good, burst: 5 }, /unknown field "burst"; known fields: capacity/],
	])('refuses bad settings (%s) with a 400 naming the field', async (_field, body, message) => {
		const res = await authed(service.app).put('/v1/limiters/bad').send(body);
		expect(res.status).toBe(400);
		expect(res.body.error.code).toBe('invalid_request');
		expect(res.body.error.message).toMatch(message);
	});

	it.each([
		['acquire', { cost: 0 }, /cost must be at least 1/],
		['acquire', { cost: 1.5 }, /cost must be a whole number/],
		['acquire', { maxWaitMs: -1 }, /maxWaitMs must be at least 0/],
		['acquire', { maxWaitMs: 600_001 }, /maxWaitMs must be at most 600000/],
		['acquire', { settings: { ...good, refillUnit: 'week' } }, /settings.refillUnit must be/],
		['take', { costs: [] }, /costs must hold at least one cost/],
		['take', { costs: [1, -1] }, /costs.1 must be at least 1/],
		['throttle', { retryAfterMs: -5 }, /retryAfterMs must be at least 0/],
	])('refuses a bad %s body %j naming the field', async (operation, body, message) => {
		await authed(service.app).put('/v1/limiters/ops').send(good).expect(200);
		const res = await authed(service.app).post(`/v1/limiters/ops/${operation}`).send(body);
		expect(res.status).toBe(400);
		expect(res.body.error.message).toMatch(message);
	});

	it('refuses a cost above capacity: it could never be granted', async () => {
		await authed(service.app)
			.put('/v1/limiters/small')
			.send({ ...good, capacity: 5 });
		for (const [path, body] of [
			['acquire', { cost: 6 }],
			['take', { costs: [1, 6] }],
		] as const) {
			const res = await authed(service.app).post(`/v1/limiters/small/${path}`).send(body);
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe('cost_above_capacity');
			expect(res.body.error.message).toMatch(/cost 6 is above capacity 5 of limiter 'small'/);
		}
	});

	it('refuses a malformed limiter key, naming it', async () => {
		const res = await authed(service.app).put(`/v1/limiters/${encodeURIComponent('bad key')}`);
		expect(res.status).toBe(400);
		expect(res.body.error.message).toMatch(/^Invalid limiterKey: limiterKey must be 1-128/);
	});

	it.each([
		['no key', undefined, 'missing_api_key'],
		['a wrong key', 'wrong-key-0123456789abcdef', 'invalid_api_key'],
	])('refuses %s with 401 on every limiter route', async (_label, key, code) => {
		const calls = [
			request(service.app).put('/v1/limiters/api-1').send(good),
			request(service.app).get('/v1/limiters/api-1'),
			request(service.app).post('/v1/limiters/api-1/acquire').send({ cost: 1 }),
			request(service.app)
				.post('/v1/limiters/api-1/take')
				.send({ costs: [1] }),
			request(service.app).post('/v1/limiters/api-1/throttle').send({}),
		];
		for (const call of calls) {
			const res = await (key ? call.set('x-api-key', key) : call);
			expect(res.status).toBe(401);
			expect(res.body.error.code).toBe(code);
		}
	});

	it('describes its routes in /openapi.json and counts in /metrics', async () => {
		const doc = await request(service.app).get('/openapi.json').set('x-api-key', TEST_API_KEY);
		const paths = doc.body.paths as Record<string, Record<string, unknown>>;
		expect(Object.keys(paths['/v1/limiters/{limiterKey}'])).toEqual(['put', 'get']);
		for (const op of ['acquire', 'take', 'throttle']) {
			expect(paths[`/v1/limiters/{limiterKey}/${op}`].post).toBeTruthy();
		}
		const metrics = await authed(service.app).get('/metrics').expect(200);
		expect(metrics.text).toMatch(/bg_limiter_acquire_seconds_bucket/);
		expect(metrics.text).toMatch(/bg_limiter_granted_tokens_total/);
		expect(metrics.text).toMatch(/bg_limiter_throttles_total/);
	});
});
