import {
	api,
	dispatchFixture,
	sleep,
	callService,
	eventually,
	items,
	startSink,
	submitBatch,
	waitDone,
} from './helpers';

describe('batches: pause, resume, cancel, concurrency, replay, wait (real Redis)', () => {
	let active = 0;
	let maxActive = 0;
	/** A sink that holds each chunk for holdMs and tracks how many are in flight at once. */
	const holdingSink = (holdMs: number) =>
		startSink(async () => {
			active++;
			maxActive = Math.max(maxActive, active);
			await sleep(holdMs);
			active--;
			return {};
		});
	const f = dispatchFixture({});
	beforeEach(() => {
		active = maxActive = 0;
	});

	it('keeps the per-batch concurrency, and a PATCH changes it while running', async () => {
		f.sink = await holdingSink(60);
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-conc', targetUrl: f.sink!.url, chunkSize: 1, concurrency: 2 },
			items(16),
		);
		await eventually(async () => f.sink!.dispatches.length >= 4);
		expect(maxActive).toBe(2);
		const patched = await api(f.service.app).patch(`/v1/batches/${batchId}`, { concurrency: 5 });
		expect(patched.body.concurrency).toBe(5);
		await waitDone(f.service.app, batchId);
		expect(maxActive).toBe(5);
		expect(f.sink!.dispatches).toHaveLength(16);
	});

	it('pause stops new chunks (in-flight ones finish); resume continues to the end', async () => {
		f.sink = await holdingSink(50);
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-pause', targetUrl: f.sink!.url, chunkSize: 1, concurrency: 1 },
			items(10),
		);
		await eventually(async () => f.sink!.dispatches.length >= 2);
		const paused = await api(f.service.app).post(`/v1/batches/${batchId}/pause`);
		expect(paused.body.state).toBe('paused');
		await sleep(150);
		const frozen = f.sink!.dispatches.length;
		await sleep(300);
		expect(f.sink!.dispatches.length).toBe(frozen);
		const waited = await api(f.service.app).get(`/v1/batches/${batchId}/wait?timeoutMs=200`);
		expect(waited.body).toMatchObject({ done: false, progress: { state: 'paused' } });
		expect((await api(f.service.app).post(`/v1/batches/${batchId}/resume`)).body.state).toBe(
			'running',
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.counts.succeeded).toBe(10);
		expect(f.sink!.dispatches).toHaveLength(10);
	});

	it('cancel drops queued chunks; the long-poll answers as soon as it happens', async () => {
		f.sink = await holdingSink(100);
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-cancel', targetUrl: f.sink!.url, chunkSize: 1, concurrency: 1 },
			items(20),
		);
		await eventually(async () => f.sink!.dispatches.length >= 1);
		const started = Date.now();
		const waiting = api(f.service.app)
			.get(`/v1/batches/${batchId}/wait?timeoutMs=10000`)
			.then((res) => res);
		await sleep(100);
		const cancelled = await api(f.service.app).post(`/v1/batches/${batchId}/cancel`);
		expect(cancelled.body.state).toBe('cancelled');
		const waited = await waiting;
		expect(waited.body).toMatchObject({ done: true, progress: { state: 'cancelled' } });
		expect(Date.now() - started).toBeLessThan(2000);
		await sleep(400);
		expect(f.sink!.dispatches.length).toBeLessThanOrEqual(3);
		const progress = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
		expect(progress.counts.inFlight).toBe(0);
		expect(progress.counts.pending).toBeGreaterThan(15);
		expect((await api(f.service.app).post(`/v1/batches/${batchId}/pause`)).status).toBe(409);
		const report = (await api(f.service.app).get(`/v1/batches/${batchId}/report`)).body;
		expect(report.status).toBe('cancelled');
	});

	it('replays dead letters of one class; the batch runs again and the report has the BatchJobResult shape', async () => {
		let healed = false;
		f.sink = await startSink(async (dispatch) => {
			const results = dispatch.items.map((item) => {
				const n = Number(item.json.n);
				if (n % 3 === 0 && !healed)
					return { key: item.key, status: 'failed', error: { message: 'bad data', httpCode: 422 } };
				if (n === 4)
					return { key: item.key, status: 'failed', error: { message: 'gone', class: 'gone' } };
				return { key: item.key, status: 'succeeded' };
			});
			await callService(f.served.url, 'POST', `/v1/batches/${dispatch.batchId}/results`, {
				lease: dispatch.lease,
				results,
			});
			return {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-replay', targetUrl: f.sink!.url, chunkSize: 4, meta: { campaign: 'x' } },
			items(12),
		);
		const first = await waitDone(f.service.app, batchId);
		expect(first).toMatchObject({
			state: 'completed_with_errors',
			counts: { succeeded: 7, deadLettered: 5 },
		});
		const report = (await api(f.service.app).get(`/v1/batches/${batchId}/report`)).body;
		expect(report).toMatchObject({
			job_id: batchId,
			job_type: 'batch_dispatch',
			status: 'completed_with_errors',
			summary: { total_items: 12, processed: 12, succeeded: 7, failed: 5, skipped: 0 },
			error_categories: { http_422: 4, gone: 1 },
			metadata: { chunk_size: 4, num_chunks: 3, max_workers: 4, retry_attempts: 5 },
			meta: { campaign: 'x' },
		});
		expect(typeof report.started_at).toBe('string');
		expect(typeof report.completed_at).toBe('string');
		expect(report.summary.duration_seconds).toBeGreaterThanOrEqual(0);
		expect(report.errors).toHaveLength(5);
		expect(report.errors[0]).toEqual({
			executions: [],
			http_code: 422,
			item_identifier: expect.any(String),
			error_type: expect.any(String),
			error_message: expect.any(String),
			timestamp: expect.any(String),
			chunk_index: expect.any(Number),
			retry_attempts: 1,
		});
		expect(report.remediation.join(' ')).toMatch(/4xx/);
		healed = true;
		const replayed = await api(f.service.app).post(`/v1/batches/${batchId}/dead-letters/retry`, {
			errorClass: 'http_422',
		});
		expect(replayed.body).toMatchObject({ replayed: 4, errorClass: 'http_422', state: 'running' });
		const second = await waitDone(f.service.app, batchId);
		expect(second).toMatchObject({
			state: 'completed_with_errors',
			counts: { succeeded: 11, deadLettered: 1 },
		});
		expect(f.sink!.seen.get(`${batchId}:item-3`)).toBe(2);
		expect(f.sink!.seen.get(`${batchId}:item-4`)).toBe(1);
		const all = await api(f.service.app).post(`/v1/batches/${batchId}/dead-letters/retry`);
		expect(all.body.replayed).toBe(1);
		await waitDone(f.service.app, batchId);
	});

	it('a long-poll on a running batch answers done:false after timeoutMs', async () => {
		f.sink = await holdingSink(2000);
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-wait', targetUrl: f.sink!.url, chunkSize: 1, concurrency: 1 },
			items(2),
		);
		const started = Date.now();
		const res = await api(f.service.app).get(`/v1/batches/${batchId}/wait?timeoutMs=300`);
		expect(res.body.done).toBe(false);
		expect(Date.now() - started).toBeGreaterThanOrEqual(290);
		await api(f.service.app).post(`/v1/batches/${batchId}/cancel`);
	});
});
