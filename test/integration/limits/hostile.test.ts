import { createTestService, type TestService } from '../../harness/service';
import { authed } from './helpers';

const good = { capacity: 10, refillAmount: 1, refillUnit: 'hour' };

describe('limiter routes under hostile input (real Redis)', () => {
	let service: TestService;
	beforeAll(() => {
		service = createTestService();
	});
	afterAll(async () => service.cleanup());

	const state = async (key: string) => (await authed(service.app).get(`/v1/limiters/${key}`)).body;

	describe('take with a cost above capacity', () => {
		it.each([
			[[5, 5, 5, 20], 3, 20],
			[[20], 0, 20],
			[[1, 11], 1, 11],
			[[1, 2, 3, 4, 5, 6, 7, 8, 9, 1_000], 9, 1_000],
		])('refuses %j as a whole, naming index %i and cost %i', async (costs, index, cost) => {
			const key = `cap-${costs.length}-${index}`;
			await authed(service.app).put(`/v1/limiters/${key}`).send(good).expect(200);
			const res = await authed(service.app).post(`/v1/limiters/${key}/take`).send({ costs });
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe('cost_above_capacity');
			expect(res.body.error.message).toContain(`costs.${index}`);
			expect(res.body.error.message).toContain(`${cost}`);
			expect(res.body.error.message).toContain('capacity 10');
			// Nothing was granted: the earlier costs did not take tokens.
			const after = await state(key);
			expect(after.grantedTokens).toBe(0);
			expect(after.tokens).toBe(10);
		});

		it('refuses a cost above the capacity that rides along in the same request', async () => {
			const res = await authed(service.app)
				.post('/v1/limiters/cap-ride/take')
				.send({ costs: [2, 4, 6], settings: { ...good, capacity: 5 } });
			expect(res.status).toBe(400);
			expect(res.body.error.message).toContain('costs.2');
		});

		it('still grants the longest prefix when every cost fits the capacity', async () => {
			await authed(service.app).put('/v1/limiters/cap-ok').send(good).expect(200);
			const res = await authed(service.app)
				.post('/v1/limiters/cap-ok/take')
				.send({ costs: [5, 5, 5, 10] })
				.expect(200);
			expect(res.body.granted).toBe(2);
		});

		it('names the cost of an acquire above capacity', async () => {
			await authed(service.app).put('/v1/limiters/cap-acq').send(good).expect(200);
			const res = await authed(service.app)
				.post('/v1/limiters/cap-acq/acquire')
				.send({ cost: 11, maxWaitMs: 0 });
			expect(res.status).toBe(400);
			expect(res.body.error.code).toBe('cost_above_capacity');
			expect(res.body.error.message).toMatch(/cost 11 .*capacity 10/);
		});
	});

	describe('unknown fields', () => {
		it.each([
			['PUT', '/v1/limiters/u1', { ...good, capcity: 3 }, 'capcity', 'capacity'],
			['PUT', '/v1/limiters/u1', { ...good, refillunit: 'minute' }, 'refillunit', 'refillUnit'],
			['PUT', '/v1/limiters/u1', { ...good, Adaptive: true }, 'Adaptive', 'adaptive'],
			['POST', '/v1/limiters/u1/acquire', { cost: 1, maxwaitms: 0 }, 'maxwaitms', 'maxWaitMs'],
			['POST', '/v1/limiters/u1/acquire', { cots: 1 }, 'cots', 'cost'],
			['POST', '/v1/limiters/u1/take', { costs: [1], setings: good }, 'setings', 'settings'],
			['POST', '/v1/limiters/u1/throttle', { retryAfterMS: 5 }, 'retryAfterMS', 'retryAfterMs'],
			[
				'POST',
				'/v1/limiters/u1/acquire',
				{ cost: 1, settings: { ...good, recoverystepms: 100 } },
				'settings.recoverystepms',
				'recoveryStepMs',
			],
		])(
			'%s %s refuses %j, naming the field and the one meant',
			async (method, path, body, field, meant) => {
				const call =
					method === 'PUT' ? authed(service.app).put(path) : authed(service.app).post(path);
				const res = await call.send(body);
				expect(res.status).toBe(400);
				expect(res.body.error.message).toContain(`"${field}"`);
				expect(res.body.error.message).toContain(`did you mean "${meant}"`);
				expect(res.body.error.details).toEqual(
					expect.arrayContaining([expect.objectContaining({ path: field })]),
				);
			},
		);

		it('lists the known fields when nothing is close', async () => {
			const res = await authed(service.app)
				.post('/v1/limiters/u1/acquire')
				.send({ cost: 1, bogus: true, other: 2 });
			expect(res.status).toBe(400);
			expect(res.body.error.message).toContain('"bogus"');
			expect(res.body.error.message).not.toContain('did you mean');
			expect(res.body.error.message).toMatch(/known fields: cost, maxWaitMs, settings/);
			expect(res.body.error.details).toEqual(
				expect.arrayContaining([
					expect.objectContaining({ path: 'bogus' }),
					expect.objectContaining({ path: 'other' }),
				]),
			);
			expect((await authed(service.app).get('/v1/limiters/u1')).status).toBe(404);
		});
	});
});
