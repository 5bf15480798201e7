import { BatchReads } from '../../../service/src/batches/state/reads';
import { createTestService, type TestService } from '../../harness/service';
import { api, items } from './helpers';

describe('batches: Claim and Record Results with leases (real Redis)', () => {
	let service: TestService;
	beforeEach(async () => {
		service = createTestService();
		await api(service.app).post('/v1/batches', {
			batchKey: 'b-lease',
			maxAttempts: 3,
			backoff: { initialMs: 0, maxMs: 0 },
		});
		await api(service.app).post('/v1/batches/b-lease/items', { items: items(6), final: true });
	});
	afterEach(async () => service.cleanup());

	const claim = (body: unknown) => api(service.app).post('/v1/batches/b-lease/claim', body);
	const record = (body: unknown) => api(service.app).post('/v1/batches/b-lease/results', body);

	it('a live lease blocks a second claim; finished items are skipped with the reason', async () => {
		const first = await claim({ keys: ['item-0', 'item-1'] });
		expect(first.body).toMatchObject({
			claimed: ['item-0', 'item-1'],
			skipped: [],
			lease: expect.stringMatching(/^l-/),
		});
		const second = await claim({ keys: ['item-0', 'item-2', 'nope'] });
		expect(second.body.claimed).toEqual(['item-2']);
		expect(second.body.skipped).toEqual([
			{ key: 'item-0', reason: 'leased', dueAt: expect.any(String) },
			{ key: 'nope', reason: 'unknown' },
		]);
		expect(second.body.lease).not.toBe(first.body.lease);
		const done = await record({
			lease: first.body.lease,
			results: [{ key: 'item-0', status: 'succeeded' }],
		});
		expect(done.body).toMatchObject({
			succeeded: 1,
			retryScheduled: 0,
			deadLettered: 0,
			released: 0,
			ignored: [],
			chunkIndexes: [0],
			progress: { state: 'running', counts: { succeeded: 1 } },
		});
		const third = await claim({ keys: ['item-0'] });
		expect(third.body.skipped).toEqual([{ key: 'item-0', reason: 'finished' }]);
		// With the lease of the attempt, its own items are confirmed, others are not.
		const own = await claim({ keys: ['item-1', 'item-2'], lease: first.body.lease });
		expect(own.body).toMatchObject({
			claimed: ['item-1'],
			skipped: [{ key: 'item-2', reason: 'leased' }],
			lease: first.body.lease,
		});
	});

	it('a result under a stale lease is ignored and never recorded twice', async () => {
		const stale = await claim({ keys: ['item-3'], leaseMs: 100 });
		await new Promise((resolve) => setTimeout(resolve, 150));
		const fresh = await claim({ keys: ['item-3'] });
		expect(fresh.body.claimed).toEqual(['item-3']);
		const late = await record({
			lease: stale.body.lease,
			results: [{ key: 'item-3', status: 'failed', error: { message: 'boom' } }],
		});
		expect(late.body).toMatchObject({
			succeeded: 0,
			deadLettered: 0,
			ignored: [{ key: 'item-3', reason: 'stale_lease' }],
		});
		const ok = await record({
			lease: fresh.body.lease,
			results: [{ key: 'item-3', status: 'succeeded' }],
		});
		expect(ok.body.succeeded).toBe(1);
		const again = await record({
			lease: fresh.body.lease,
			results: [{ key: 'item-3', status: 'succeeded' }],
		});
		expect(again.body.ignored).toEqual([{ key: 'item-3', reason: 'already_recorded' }]);
		const reads = new BatchReads(service.ctx);
		expect((await reads.item('b-lease', 'item-3'))?.attempts).toBe(2);
		const progress = (await api(service.app).get('/v1/batches/b-lease')).body;
		expect(progress.counts).toMatchObject({ succeeded: 1, total: 6 });
	});

	it('classifies recorded failures: transient ones retry, permanent ones are dead letters', async () => {
		const { body } = await claim({ keys: ['item-0', 'item-1', 'item-2', 'item-3'] });
		const res = await record({
			lease: body.lease,
			results: [
				{
					key: 'item-0',
					status: 'failed',
					error: { message: 'rate limited', httpCode: 429, retryAfterMs: 60_000 },
				},
				{ key: 'item-1', status: 'failed', error: { message: 'ETIMEDOUT while connecting' } },
				{
					key: 'item-2',
					status: 'failed',
					error: { message: 'no such mailbox', httpCode: 550, transient: false, class: 'bounce' },
				},
				{ key: 'item-3', status: 'failed', error: { message: 'validation failed' } },
			],
		});
		expect(res.body).toMatchObject({ succeeded: 0, retryScheduled: 2, deadLettered: 2 });
		const progress = (await api(service.app).get('/v1/batches/b-lease')).body;
		expect(progress.counts).toMatchObject({ retrying: 2, deadLettered: 2, inFlight: 0 });
		expect(Object.keys(progress.errorClasses).sort()).toEqual([
			'bounce',
			'error',
			'http_429',
			'timeout',
		]);
		const item0 = await new BatchReads(service.ctx).item('b-lease', 'item-0');
		const now = Number((await service.ctx.redis.time())[0]) * 1000;
		expect((item0?.dueAt ?? 0) - now).toBeGreaterThan(55_000);
		// Without a lease a running batch may still be recorded (e.g. a Loop workflow).
		const direct = await record({ results: [{ key: 'item-5', status: 'succeeded' }] });
		expect(direct.body.succeeded).toBe(1);
		const claimDead = await claim({ keys: ['item-2'] });
		expect(claimDead.body.skipped).toEqual([{ key: 'item-2', reason: 'dead_lettered' }]);
	});

	it('completes a Claim-only batch when every item is recorded', async () => {
		const { body } = await claim({ keys: items(6).map((item) => item.key) });
		await record({
			lease: body.lease,
			results: items(6).map((item) => ({ key: item.key, status: 'succeeded' })),
		});
		const progress = (await api(service.app).get('/v1/batches/b-lease')).body;
		expect(progress).toMatchObject({
			state: 'completed',
			percent: 100,
			chunks: { total: 1, done: 1 },
		});
	});
});

describe('batches: Claim with maxItems (real Redis)', () => {
	let service: TestService;
	beforeEach(async () => {
		service = createTestService();
		await api(service.app).post('/v1/batches', { batchKey: 'b-max' });
		await api(service.app).post('/v1/batches/b-max/items', { items: items(10), final: true });
	});
	afterEach(async () => service.cleanup());

	it('leases at most maxItems and leaves the rest free for the next execution', async () => {
		const keys = items(10).map((item) => item.key);
		const first = await api(service.app).post('/v1/batches/b-max/claim', { keys, maxItems: 4 });
		expect(first.body.claimed).toEqual(keys.slice(0, 4));
		expect(first.body.skipped.map((s: { reason: string }) => s.reason)).toEqual(
			Array(6).fill('over_max_items'),
		);
		const second = await api(service.app).post('/v1/batches/b-max/claim', { keys, maxItems: 4 });
		expect(second.body.claimed).toEqual(keys.slice(4, 8));
		const progress = (await api(service.app).get('/v1/batches/b-max')).body;
		expect(progress.counts).toMatchObject({ inFlight: 8, pending: 2 });
	});
});
