import {
	api,
	dispatchFixture,
	sleep,
	eventually,
	items,
	startSink,
	submitBatch,
	waitDone,
} from './helpers';

describe('batches: failure threshold and circuit breaker (real Redis)', () => {
	const f = dispatchFixture({ BREAKER_FAILURES: '3', BREAKER_COOLDOWN_MS: '400' });

	it('aborts past the failure ratio, cancels the remaining chunks and says why', async () => {
		f.sink = await startSink(() => ({ status: 400, body: { error: 'schema mismatch' } }));
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-abort',
				targetUrl: f.sink!.url,
				chunkSize: 5,
				concurrency: 1,
				failureThreshold: { ratio: 0.5, minSample: 10 },
			},
			items(100),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.state).toBe('aborted');
		expect(progress.abortReason).toMatch(
			/Failure threshold passed: 10 of 10 processed items failed/,
		);
		await sleep(200);
		expect(f.sink!.dispatches.length).toBeLessThanOrEqual(3);
		expect(progress.counts.pending).toBeGreaterThanOrEqual(85);
		const report = (await api(f.service.app).get(`/v1/batches/${batchId}/report`)).body;
		expect(report).toMatchObject({ status: 'failed', abort_reason: progress.abortReason });
	});

	it('opens the breaker after consecutive transient failures, probes once per cooldown, closes on success', async () => {
		let failing = true;
		let active = 0;
		let maxActiveWhileOpen = 0;
		let opened = false;
		f.sink = await startSink(async () => {
			active++;
			if (opened) maxActiveWhileOpen = Math.max(maxActiveWhileOpen, active);
			await sleep(10);
			active--;
			return failing ? { status: 503 } : {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-breaker',
				targetUrl: f.sink!.url,
				chunkSize: 1,
				concurrency: 3,
				maxAttempts: 50,
				timeoutMs: 1000,
				backoff: { initialMs: 1, maxMs: 2 },
			},
			items(6),
		);
		const open = await eventually(async () => {
			const p = (await api(f.service.app).get(`/v1/batches/${batchId}`)).body;
			return p.breaker.state === 'open' && p;
		});
		opened = true;
		expect(open.breaker.consecutiveFailures).toBeGreaterThanOrEqual(3);
		expect(open.breaker.openedAt).toEqual(expect.any(String));
		const before = f.sink!.dispatches.length;
		await sleep(1300);
		// About one probe per 400 ms cooldown, one at a time, while it keeps failing.
		const probes = f.sink!.dispatches.length - before;
		expect(probes).toBeGreaterThanOrEqual(1);
		expect(probes).toBeLessThanOrEqual(4);
		expect(maxActiveWhileOpen).toBe(1);
		failing = false;
		const done = await waitDone(f.service.app, batchId);
		expect(done.counts.succeeded).toBe(6);
		expect(done.breaker).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
	});
});
