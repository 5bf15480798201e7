import { BatchReads } from '../../../service/src/batches/state/reads';
import { api, dispatchFixture, eventually, items, sleep, startSink, submitBatch } from './helpers';

/**
 * A chunk paced by its limiter waits for tokens BEFORE it leases anything: a chunk larger than the
 * bucket (paid in parts, each part up to LIMITER_MAX_WAIT_MS) still goes out under a live lease
 * and slot, and a batch cancelled meanwhile sends nothing.
 */
describe('batches: pacing before leasing (real Redis, dispatcher started)', () => {
	const f = dispatchFixture({ LIMITER_MAX_WAIT_MS: '2000', LEASE_GRACE_MS: '200' });

	it('a chunk larger than its bucket pays in parts with nothing leased, then POSTs under a live lease', async () => {
		const reads = new BatchReads(f.service.ctx);
		const seenAt: Array<{ leaseOk: boolean; slotHeld: boolean }> = [];
		f.sink = await startSink(async (dispatch) => {
			const state = await reads.item(dispatch.batchId, dispatch.items[0].key);
			const now = Number((await f.service.ctx.redis.time())[0]) * 1000;
			const slotExp = await f.service.ctx.redis.zscore(
				f.service.ctx.keys.batchPart(dispatch.batchId, 'slots'),
				dispatch.lease,
			);
			seenAt.push({
				leaseOk: state?.lease === dispatch.lease && (state?.leaseExpiresAt ?? 0) > now,
				slotHeld: Number(slotExp ?? 0) > now,
			});
			return {};
		});
		// 4 tokens a second, burst 4; a 12-item chunk needs about two seconds of refill, longer
		// than the lease alone (timeoutMs 500 + grace 200) would last.
		await api(f.service.app).put('/v1/limiters/tiny', {
			capacity: 4,
			refillAmount: 4,
			refillUnit: 'second',
		});
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-parts',
				targetUrl: f.sink.url,
				chunkSize: 12,
				timeoutMs: 500,
				limiterKey: 'tiny',
			},
			items(12),
		);
		// While paying, nothing of the chunk is leased.
		await sleep(600);
		const mid = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
		expect(mid.counts).toMatchObject({ inFlight: 0, pending: 12 });
		const done = await eventually(async () => {
			const p = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
			return p.state === 'completed' && p;
		}, 15_000);
		expect(done.counts.succeeded).toBe(12);
		expect(seenAt).toEqual([{ leaseOk: true, slotHeld: true }]);
		expect(f.sink.dispatches).toHaveLength(1);
	}, 20_000);

	it('a batch cancelled while its chunk waits for tokens sends nothing, and counts nothing succeeded', async () => {
		f.sink = await startSink();
		// One token a minute, already spent: the chunk waits (up to LIMITER_MAX_WAIT_MS at a time).
		await api(f.service.app).put('/v1/limiters/stingy', {
			capacity: 1,
			refillAmount: 1,
			refillUnit: 'minute',
		});
		await api(f.service.app).post('/v1/limiters/stingy/acquire', { cost: 1, maxWaitMs: 0 });
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-cancel-paced', targetUrl: f.sink.url, chunkSize: 1, limiterKey: 'stingy' },
			items(3),
		);
		await sleep(500);
		const cancelled = await api(f.service.app).post(`/v1/batches/${batchId}/cancel`);
		expect(cancelled.body.state).toBe('cancelled');
		await sleep(3_000);
		expect(f.sink.dispatches).toHaveLength(0);
		const after = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
		expect(after.counts).toMatchObject({ succeeded: 0, inFlight: 0 });
	}, 15_000);
});
