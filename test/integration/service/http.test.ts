import request from 'supertest';

import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';

describe('service HTTP surface (real Redis)', () => {
	let service: TestService;
	beforeAll(() => {
		service = createTestService({ MAX_BODY_BYTES: '2048' });
	});
	afterAll(async () => service.cleanup());

	const authed = (method: 'get' | 'post', path: string) =>
		request(service.app)[method](path).set('x-api-key', TEST_API_KEY);

	it('answers liveness without a key', async () => {
		const res = await request(service.app).get('/health');
		expect(res.status).toBe(200);
		expect(res.body).toEqual({ status: 'ok' });
	});

	it('reports ready only with the key, after pinging Redis', async () => {
		expect((await request(service.app).get('/ready')).status).toBe(401);
		const res = await authed('get', '/ready');
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({ status: 'ready', redis: 'up' });
	});

	it.each([
		['no key', undefined, 'missing_api_key'],
		['a wrong key', 'wrong-key-0123456789abcdef', 'invalid_api_key'],
		['a prefix of the key', TEST_API_KEY.slice(0, 10), 'invalid_api_key'],
		['the key with a suffix', `${TEST_API_KEY}x`, 'invalid_api_key'],
	])('refuses %s with 401 and a message', async (_label, key, code) => {
		const req = request(service.app).get('/v1/batches/b1');
		if (key) req.set('x-api-key', key);
		const res = await req;
		expect(res.status).toBe(401);
		expect(res.body.error.code).toBe(code);
		expect(res.body.error.message).toMatch(/API key/);
	});

	it('accepts the key as a bearer token too', async () => {
		const res = await request(service.app)
			.get('/ready')
			.set('authorization', `Bearer ${TEST_API_KEY}`);
		expect(res.status).toBe(200);
	});

	it('does not read the body of an unauthenticated request', async () => {
		const res = await request(service.app)
			.post('/v1/batches')
			.set('content-type', 'application/json')
			.send('x'.repeat(10_000));
		expect(res.status).toBe(401);
	});

	it('says which batch is unknown', async () => {
		const res = await authed('get', '/v1/batches/no-such-batch');
		expect(res.status).toBe(404);
		expect(res.body.error.message).toContain("'no-such-batch'");
	});

	it('refuses a malformed batch id, naming the field', async () => {
		const res = await authed('get', `/v1/batches/${encodeURIComponent('-bad id')}`);
		expect(res.status).toBe(400);
		expect(res.body.error.code).toBe('invalid_request');
		expect(res.body.error.message).toMatch(/^Invalid batchId: batchId must be 1-128 characters/);
	});

	it('reads a batch progress counters from Redis', async () => {
		const { ctx } = service;
		await ctx.redis.hset(ctx.keys.batch('b-progress'), {
			state: 'running',
			total: 200,
			succeeded: 120,
			skipped: 10,
			deadLettered: 20,
			createdAt: '2026-01-01T00:00:00.000Z',
		});
		const res = await authed('get', '/v1/batches/b-progress');
		expect(res.status).toBe(200);
		expect(res.body).toMatchObject({
			batchId: 'b-progress',
			state: 'running',
			counts: { total: 200, succeeded: 120, skipped: 10, deadLettered: 20 },
			percent: 75,
		});
	});

	it('refuses bodies over MAX_BODY_BYTES with 413 and says what to do', async () => {
		const res = await authed('post', '/v1/anything').send({ items: 'x'.repeat(5000) });
		expect(res.status).toBe(413);
		expect(res.body.error.message).toMatch(/limit is 2048 \(MAX_BODY_BYTES\)/);
	});

	it('refuses malformed JSON with 400', async () => {
		const res = await authed('post', '/v1/anything')
			.set('content-type', 'application/json')
			.send('{"a":');
		expect(res.status).toBe(400);
		expect(res.body.error.code).toBe('invalid_json');
	});

	it('serves Prometheus metrics and an OpenAPI document behind the key', async () => {
		expect((await request(service.app).get('/metrics')).status).toBe(401);
		const metrics = await authed('get', '/metrics');
		expect(metrics.status).toBe(200);
		expect(metrics.text).toMatch(/bg_http_requests_total\{/);
		const doc = await authed('get', '/openapi.json');
		expect(doc.status).toBe(200);
		expect(doc.body.openapi).toBe('3.1.0');
		expect(doc.body.paths['/v1/batches/{batchId}'].get.summary).toBeTruthy();
	});

	it('answers unknown routes with 404 pointing at the API document', async () => {
		const res = await authed('get', '/v1/nothing-here');
		expect(res.status).toBe(404);
		expect(res.body.error.message).toMatch(/openapi\.json/);
	});
});
