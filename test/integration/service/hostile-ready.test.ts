import request from 'supertest';

import { startPrivateRedis, type PrivateRedis } from '../../harness/redis';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';

jest.setTimeout(60_000);

describe('/ready while Redis goes away and comes back (private redis-server)', () => {
	let redis: PrivateRedis;
	let service: TestService;
	beforeAll(async () => {
		redis = await startPrivateRedis();
		service = createTestService({ REDIS_URL: redis.url });
	});
	afterAll(async () => {
		await service.cleanup();
		await redis.stop();
	});

	const ready = async () => {
		const started = Date.now();
		const res = await request(service.app)
			.get('/ready')
			.set('x-api-key', TEST_API_KEY)
			.timeout(10_000);
		return { res, ms: Date.now() - started };
	};

	it('answers 200, then 503 quickly while Redis is down, then 200 once it is back', async () => {
		expect((await ready()).res.status).toBe(200);
		await redis.kill('SIGKILL');
		for (let i = 0; i < 4; i++) {
			const { res, ms } = await ready();
			expect(res.status).toBe(503);
			expect(res.body).toMatchObject({ status: 'unavailable', redis: 'unreachable' });
			expect(res.body.message).toMatch(/Redis/);
			expect(ms).toBeLessThan(1_000);
		}
		await redis.restart();
		const deadline = Date.now() + 20_000;
		let status = 0;
		while (Date.now() < deadline && status !== 200) {
			status = (await ready()).res.status;
			if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 250));
		}
		expect(status).toBe(200);
	});
});
