import {
	api,
	dispatchFixture,
	callService,
	items,
	startSink,
	submitBatch,
	waitDone,
} from './helpers';

describe('batches: dispatch to the worker webhook (real Redis, dispatcher started)', () => {
	// A short lease grace: a POST that times out leaves its items leased until grace runs out.
	const f = dispatchFixture({ DISPATCH_SECRET: 'sink-secret', LEASE_GRACE_MS: '300' });

	it('POSTs one request per chunk with leases, idempotency keys and the secret; 2xx marks unrecorded items succeeded', async () => {
		f.sink = await startSink();
		const batchId = await submitBatch(
			f.service.app,
			{ batchKey: 'b-ok', targetUrl: f.sink!.url, chunkSize: 10, concurrency: 3 },
			items(35),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress).toMatchObject({
			state: 'completed',
			percent: 100,
			counts: { total: 35, succeeded: 35, pending: 0, inFlight: 0, retrying: 0 },
			chunks: { total: 4, done: 4 },
		});
		expect(f.sink!.dispatches).toHaveLength(4);
		expect(new Set(f.sink!.secrets)).toEqual(new Set(['sink-secret']));
		const first = f.sink!.dispatches.find((d) => d.chunkIndex === 0);
		expect(first).toMatchObject({
			batchId: 'b-ok',
			attempt: 1,
			lease: expect.stringMatching(/^l-/),
		});
		expect(first?.items[0]).toEqual({
			key: 'item-0',
			json: { n: 0 },
			idempotencyKey: 'b-ok:item-0',
			attempt: 1,
		});
		expect([...f.sink!.seen.values()].every((count) => count === 1)).toBe(true);
		expect(f.sink!.seen.size).toBe(35);
	});

	it('retries transient failures item-wise with backoff and dead-letters permanent ones with their class', async () => {
		const failures = new Map<string, number>();
		f.sink = await startSink(async (dispatch) => {
			// The worker records per item through Record Results, then answers 200.
			const results = dispatch.items.map((item) => {
				const n = Number(item.json.n);
				if (n % 5 === 0 && item.attempt < 3) {
					failures.set(item.key, (failures.get(item.key) ?? 0) + 1);
					return {
						key: item.key,
						status: 'failed',
						error: { message: 'upstream said 503', httpCode: 503 },
					};
				}
				if (n % 7 === 0) {
					return {
						key: item.key,
						status: 'failed',
						error: { message: 'invalid address', httpCode: 422 },
					};
				}
				return { key: item.key, status: 'succeeded' };
			});
			const recorded = await callService(
				f.served.url,
				'POST',
				`/v1/batches/${dispatch.batchId}/results`,
				{
					lease: dispatch.lease,
					results,
				},
			);
			if (recorded.status !== 200) throw new Error(JSON.stringify(recorded.body));
			return {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-retry',
				targetUrl: f.sink!.url,
				chunkSize: 10,
				maxAttempts: 5,
				backoff: { initialMs: 20, maxMs: 100 },
			},
			items(30),
		);
		const progress = await waitDone(f.service.app, batchId);
		// 0, 7, 14, 21, 28 fail permanently (0 is also %5 but fails 503 first, then 422 on attempt 3).
		expect(progress).toMatchObject({
			state: 'completed_with_errors',
			counts: { total: 30, succeeded: 25, deadLettered: 5, retrying: 0 },
		});
		expect(progress.errorClasses.http_503.count).toBe(12);
		expect(progress.errorClasses.http_422.count).toBe(5);
		// Each %5 item was sent exactly three times, each time as attempt n; others once.
		expect(f.sink!.seen.get('b-retry:item-5')).toBe(3);
		expect(f.sink!.seen.get('b-retry:item-1')).toBe(1);
		const attemptsOf5 = f.sink!.dispatches.flatMap((d) =>
			d.items.filter((i) => i.key === 'item-5').map((i) => i.attempt),
		);
		expect(attemptsOf5).toEqual([1, 2, 3]);
		// Retries go item-wise: no dispatch after the first round holds an item that had succeeded.
		const retryDispatches = f.sink!.dispatches.filter((d) => d.items.some((i) => i.attempt > 1));
		expect(retryDispatches.every((d) => d.items.every((i) => Number(i.json.n) % 5 === 0))).toBe(
			true,
		);
		const dead = await api(f.service.app).get(
			`/v1/batches/${batchId}/dead-letters?errorClass=http_422`,
		);
		expect(dead.body.total).toBe(5);
		expect(dead.body.deadLetters).toHaveLength(5);
		expect(dead.body.deadLetters[0]).toMatchObject({
			class: 'http_422',
			message: 'invalid address',
			httpCode: 422,
			attempts: expect.any(Number),
			firstAt: expect.any(String),
			lastAt: expect.any(String),
		});
		const item0 = dead.body.deadLetters.find((d: { key: string }) => d.key === 'item-0');
		expect(item0.attempts).toBe(3);
	});

	it('treats 5xx answers as transient for the unrecorded items and honours Retry-After', async () => {
		let calls = 0;
		const times: number[] = [];
		f.sink = await startSink(() => {
			calls++;
			times.push(Date.now());
			return calls === 1 ? { status: 503, headers: { 'retry-after': '1' } } : {};
		});
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-503',
				targetUrl: f.sink!.url,
				chunkSize: 5,
				backoff: { initialMs: 1, maxMs: 5 },
			},
			items(5),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.counts).toMatchObject({ succeeded: 5, deadLettered: 0 });
		expect(calls).toBe(2);
		expect(times[1] - times[0]).toBeGreaterThanOrEqual(950);
		expect(progress.errorClasses.http_503.samples[0].message).toMatch(/HTTP 503/);
	});

	it('dead-letters items after maxAttempts timeouts, and other 4xx answers at once', async () => {
		f.sink = await startSink((dispatch) =>
			dispatch.chunkIndex === 0
				? { delayMs: 400 }
				: { status: 400, body: { error: 'bad payload' } },
		);
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-timeout',
				targetUrl: f.sink!.url,
				chunkSize: 2,
				maxAttempts: 2,
				timeoutMs: 150,
				backoff: { initialMs: 1, maxMs: 5 },
			},
			items(4),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.counts).toMatchObject({ deadLettered: 4, succeeded: 0 });
		const dead = (await api(f.service.app).get(`/v1/batches/${batchId}/dead-letters`)).body
			.deadLetters;
		const byKey = Object.fromEntries(dead.map((d: { key: string }) => [d.key, d]));
		expect(byKey['item-0']).toMatchObject({ class: 'timeout', attempts: 2 });
		expect(byKey['item-0'].message).toMatch(/gave up after 2 attempts/);
		expect(byKey['item-2']).toMatchObject({ class: 'http_400', attempts: 1, httpCode: 400 });
		expect(f.sink!.seen.get('b-timeout:item-0')).toBe(2);
		expect(f.sink!.seen.get('b-timeout:item-2')).toBe(1);
	});

	it('retries a 404 (n8n answers it while the worker is not published yet) instead of dead-lettering it', async () => {
		let refusals = 2;
		f.sink = await startSink(() =>
			refusals-- > 0
				? { status: 404, body: { message: 'The requested webhook is not registered' } }
				: {},
		);
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-404',
				targetUrl: f.sink.url,
				chunkSize: 5,
				backoff: { initialMs: 1, maxMs: 20 },
			},
			items(5),
		);
		const progress = await waitDone(f.service.app, batchId);
		expect(progress.counts).toMatchObject({ succeeded: 5, deadLettered: 0 });
		expect(f.sink.seen.get('b-404:item-0')).toBe(3);
	});
});
