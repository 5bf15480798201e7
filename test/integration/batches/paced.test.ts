import { api, dispatchFixture, items, startSink, submitBatch, waitDone } from './helpers';

/** Split Into Chunks' limiter key: chunk dispatch spends tokens from the same bucket as Rate Limit. */
describe('batches: dispatch paced by a limiter key (real Redis)', () => {
	const f = dispatchFixture({});

	it('never delivers faster than the bucket allows, however high the concurrency', async () => {
		const arrivals: number[] = [];
		f.sink = await startSink((dispatch) => {
			for (let i = 0; i < dispatch.items.length; i++) arrivals.push(Date.now());
			return {};
		});
		// 10 items a second with a burst of 2: 14 items need at least (14 - 2) / 10 = 1.2 s.
		const configured = await api(f.service.app).put(`/v1/limiters/paced-sink`, {
			capacity: 2,
			refillAmount: 10,
			refillUnit: 'second',
		});
		expect(configured.status).toBeLessThan(300);
		const batchId = await submitBatch(
			f.service.app,
			{
				batchKey: 'b-paced',
				targetUrl: f.sink.url,
				chunkSize: 1,
				concurrency: 8,
				limiterKey: 'paced-sink',
			},
			items(14),
		);
		const progress = await waitDone(f.service.app, batchId, 30_000);
		expect(progress.counts.succeeded).toBe(14);
		arrivals.sort((a, b) => a - b);
		const span = arrivals[arrivals.length - 1] - arrivals[0];
		expect(span).toBeGreaterThanOrEqual(1_100);
		// In any 500 ms: at most the burst plus what refills in that time (2 + 5), plus one of slack
		// for timer and network jitter at the window's edge.
		for (const start of arrivals) {
			const inWindow = arrivals.filter((t) => t >= start && t < start + 500).length;
			expect(inWindow).toBeLessThanOrEqual(8);
		}
	}, 40_000);
});
