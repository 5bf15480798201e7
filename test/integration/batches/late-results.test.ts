import { BatchReads } from '../../../service/src/batches/state/reads';
import {
	api,
	callService,
	dispatchFixture,
	eventually,
	items,
	sleep,
	startSink,
	submitBatch,
	waitDone,
} from './helpers';

/**
 * A lease stays valid until it expires, and a report under the latest attempt's lease counts late
 * or not: a worker that answers after the chunk POST timed out must not get its items sent again.
 */
describe('batches: results that arrive late (real Redis, dispatcher started)', () => {
	const f = dispatchFixture({ LEASE_GRACE_MS: '3000', BREAKER_FAILURES: '1000' });

	it('a POST that times out keeps its lease: a success recorded after the timeout counts, nothing is resent', async () => {
		let recordedAt = 0;
		f.sink = await startSink(async (dispatch) => {
			if (dispatch.attempt === 1) {
				// Work past the service's timeout, then record under the lease (as Checkpoint does).
				setTimeout(() => {
					void callService(f.served.url, 'POST', `/v1/batches/${dispatch.batchId}/results`, {
						lease: dispatch.lease,
						results: dispatch.items.map((item) => ({ key: item.key, status: 'succeeded' })),
					}).then((answer) => {
						recordedAt = Date.now();
						expect(answer.body.ignored).toEqual([]);
					});
				}, 600);
				return { delayMs: 900 };
			}
			return {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-late', targetUrl: f.sink.url, chunkSize: 5, timeoutMs: 200 },
			items(5),
		);
		const progress = await waitDone(f.service.app, batchId, 15_000);
		expect(recordedAt).toBeGreaterThan(0);
		expect(progress.counts).toMatchObject({ succeeded: 5, deadLettered: 0, retrying: 0 });
		// Each item went out once: the timeout did not make it due again.
		for (const item of items(5)) expect(f.sink.seen.get(`b-late:${item.key}`)).toBe(1);
		expect(progress.errorClasses).toEqual({});
	}, 20_000);

	it('retry policy: a timed-out attempt that never reports is retried when its lease expires, as a timeout', async () => {
		f.sink = await startSink((dispatch) => (dispatch.attempt === 1 ? { delayMs: 10_000 } : {}));
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-expire',
				targetUrl: f.sink.url,
				chunkSize: 3,
				timeoutMs: 200,
				backoff: { initialMs: 1, maxMs: 5 },
			},
			items(3),
		);
		const started = Date.now();
		const progress = await waitDone(f.service.app, batchId, 15_000);
		expect(progress.counts.succeeded).toBe(3);
		// Not before timeoutMs + LEASE_GRACE_MS: the lease of the first attempt was still live.
		expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
		expect(progress.errorClasses.timeout.count).toBe(3);
		expect(f.sink.seen.get('b-expire:item-0')).toBe(2);
	}, 20_000);

	it('hold policy: an attempt that never reports becomes an in_doubt dead letter; a late report settles it', async () => {
		f.sink = await startSink(() => ({ delayMs: 10_000 }));
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-hold',
				targetUrl: f.sink.url,
				chunkSize: 4,
				timeoutMs: 200,
				inDoubt: 'hold',
			},
			items(4),
		);
		const progress = await waitDone(f.service.app, batchId, 15_000);
		expect(progress.state).toBe('completed_with_errors');
		expect(progress.counts).toMatchObject({ deadLettered: 4, inDoubt: 4, succeeded: 0 });
		// In doubt is not a failure: no error class, and sent exactly once.
		expect(progress.errorClasses).toEqual({});
		for (const item of items(4)) expect(f.sink.seen.get(`b-hold:${item.key}`)).toBe(1);
		const dead = (await api(f.service.app).get(`/v1/batches/${batchId}/dead-letters`)).body;
		expect(dead.total).toBe(4);
		expect(dead.deadLetters[0]).toMatchObject({
			class: 'in_doubt',
			attempts: 1,
			inDoubt: { lease: expect.any(String), cause: 'timeout' },
		});
		const lease = dead.deadLetters[0].inDoubt.lease;
		const report = (await api(f.service.app).get(`/v1/batches/${batchId}/report`)).body;
		expect(report.summary).toMatchObject({ in_doubt: 4, failed: 0 });
		// The worker's record arrives at last: the doubt is settled, the batch completes.
		const late = await api(f.service.app).post(`/v1/batches/${batchId}/results`, {
			lease,
			results: items(4).map((item) => ({ key: item.key, status: 'succeeded' })),
		});
		expect(late.body).toMatchObject({ succeeded: 4, ignored: [] });
		const after = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
		expect(after).toMatchObject({
			state: 'completed',
			counts: { succeeded: 4, deadLettered: 0, inDoubt: 0 },
		});
	}, 20_000);

	it('hold policy: a worker that answers 5xx without recording holds its items in doubt at once', async () => {
		f.sink = await startSink(() => ({ status: 500, body: { message: 'workflow failed' } }));
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-5xx', targetUrl: f.sink.url, chunkSize: 2, inDoubt: 'hold' },
			items(2),
		);
		const progress = await waitDone(f.service.app, batchId, 10_000);
		expect(progress.counts).toMatchObject({ inDoubt: 2, deadLettered: 2 });
		expect(f.sink.seen.get('b-5xx:item-0')).toBe(1);
		const dead = (await api(f.service.app).get(`/v1/batches/${batchId}/dead-letters`)).body;
		expect(dead.deadLetters[0].inDoubt.cause).toBe('http_500');
	}, 15_000);

	it('hold policy: a 503 (n8n or a proxy refusing before the workflow ran) is retried, not held', async () => {
		let refusals = 1;
		f.sink = await startSink(() =>
			refusals-- > 0 ? { status: 503, headers: { 'retry-after': '0' } } : {},
		);
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-503',
				targetUrl: f.sink.url,
				chunkSize: 2,
				inDoubt: 'hold',
				backoff: { initialMs: 1, maxMs: 5 },
			},
			items(2),
		);
		const progress = await waitDone(f.service.app, batchId, 10_000);
		expect(progress.counts).toMatchObject({ succeeded: 2, inDoubt: 0 });
		expect(f.sink.seen.get('b-503:item-0')).toBe(2);
	}, 15_000);

	it('settles each item once per dispatch: items the worker recorded are left alone after the 2xx', async () => {
		const reads = new BatchReads(f.service.ctx);
		const commands = (
			f.service.batches.dispatcher as unknown as {
				commands: { closeDispatch: (...args: unknown[]) => Promise<{ succeeded: number }> };
			}
		).commands;
		const closes: number[] = [];
		const original = commands.closeDispatch.bind(commands);
		commands.closeDispatch = async (...args: unknown[]) => {
			const reply = await original(...args);
			closes.push(reply.succeeded);
			return reply;
		};
		f.sink = await startSink(async (dispatch) => {
			const mine = dispatch.items.slice(0, 3);
			await callService(f.served.url, 'POST', `/v1/batches/${dispatch.batchId}/results`, {
				lease: dispatch.lease,
				results: mine.map((item) => ({ key: item.key, status: 'succeeded' })),
			});
			return {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-once', targetUrl: f.sink.url, chunkSize: 5 },
			items(5),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.counts.succeeded).toBe(5);
		// The 2xx settled only the two items the worker did not record.
		expect(closes).toEqual([2]);
		expect((await reads.item(batchId, 'item-0'))?.reported).toBe(true);
	});

	it('a record under a lease a newer attempt replaced is stale; one under the latest attempt is idempotent', async () => {
		await api(f.service.app).post('/v1/batches', {
			batchKey: 'b-stale',
			backoff: { initialMs: 1, maxMs: 1 },
		});
		await api(f.service.app).post('/v1/batches/b-stale/items', { items: items(1), final: true });
		const first = await api(f.service.app).post('/v1/batches/b-stale/claim', {
			keys: ['item-0'],
			leaseMs: 100,
		});
		await sleep(150);
		// The expired lease counts as a failed attempt (retry policy), due again after its backoff.
		const second = await api(f.service.app).post('/v1/batches/b-stale/claim', {
			keys: ['item-0'],
		});
		expect(second.body.claimed).toEqual(['item-0']);
		const stale = await api(f.service.app).post('/v1/batches/b-stale/results', {
			lease: first.body.lease,
			results: [{ key: 'item-0', status: 'succeeded' }],
		});
		expect(stale.body.ignored).toEqual([{ key: 'item-0', reason: 'stale_lease' }]);
		const ok = await api(f.service.app).post('/v1/batches/b-stale/results', {
			lease: second.body.lease,
			results: [{ key: 'item-0', status: 'succeeded' }],
		});
		expect(ok.body.succeeded).toBe(1);
		const again = await api(f.service.app).post('/v1/batches/b-stale/results', {
			lease: second.body.lease,
			results: [{ key: 'item-0', status: 'succeeded' }],
		});
		expect(again.body.ignored).toEqual([{ key: 'item-0', reason: 'already_recorded' }]);
		await eventually(async () => {
			const p = (await api(f.service.app).get('/v1/batches/b-stale')).body;
			return p.state === 'completed' && p;
		});
	});
});
