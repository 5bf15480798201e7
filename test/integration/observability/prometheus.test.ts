import request from 'supertest';

import { startPrometheus, type RunningPrometheus } from '../../harness/prometheus';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import {
	api,
	eventually,
	items,
	serveApp,
	sleep,
	startSink,
	waitDone,
	type Sink,
} from '../batches/helpers';
import { dashboardQueries, metricNames, variableMetrics, withVariables } from './promql';

jest.setTimeout(300_000);

const BATCH = 'prom-batch';
/** Chunks whose index ends in 3 are refused for good (HTTP 400): their items are dead-lettered. */
const refused = (chunkIndex: number): boolean => chunkIndex % 10 === 3;

describe('metrics scraped by a real Prometheus; the Grafana dashboard reads only real metrics', () => {
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	let sink: Sink;
	let prometheus: RunningPrometheus;
	let report: any;
	const seenWhileRunning: number[] = [];

	beforeAll(async () => {
		service = createTestService({}, { dispatcher: true });
		served = await serveApp(service.app);
		sink = await startSink((dispatch) =>
			refused(dispatch.chunkIndex) ? { status: 400, delayMs: 100 } : { delayMs: 100 },
		);
		prometheus = await startPrometheus(new URL(served.url).host, TEST_API_KEY);
		await eventually(
			async () => (await prometheus.query('up{job="batch-guardian"}'))[0]?.value === 1,
			20_000,
		);

		// Limiter work: a paced batch (grants), a throttle, a refused take.
		await api(service.app).put('/v1/limiters/prom-relay', {
			capacity: 1000,
			refillAmount: 100_000,
			refillUnit: 'second',
		});
		await api(service.app).post('/v1/limiters/prom-relay/throttle', { retryAfterMs: 1 });
		const tiny = { capacity: 1, refillAmount: 1, refillUnit: 'hour' };
		await api(service.app).post('/v1/limiters/prom-tiny/take', { costs: [1, 1], settings: tiny });

		const created = await api(service.app).post('/v1/batches', {
			batchKey: BATCH,
			targetUrl: sink.url,
			chunkSize: 40,
			concurrency: 2,
			limiterKey: 'prom-relay',
		});
		expect(created.status).toBe(201);
		// 2,000 items, 25 of them sent twice: counted as skipped duplicates.
		const list = [...items(2000), ...items(25)];
		for (let i = 0; i < list.length; i += 500) {
			const page = await api(service.app).post(`/v1/batches/${BATCH}/items`, {
				items: list.slice(i, i + 500),
			});
			expect(page.status).toBe(200);
		}
		await api(service.app).post(`/v1/batches/${BATCH}/seal`);
		const running = (async () => {
			for (;;) {
				const [sample] = await prometheus.query(
					`sum(bg_batch_items_total{batch="${BATCH}",outcome="succeeded"})`,
				);
				if (sample) seenWhileRunning.push(sample.value);
				const { body } = await api(service.app).get(`/v1/batches/${BATCH}`);
				if (body.state !== 'running') return;
				await sleep(500);
			}
		})();
		await waitDone(service.app, BATCH, 120_000);
		await running;
		report = (await api(service.app).get(`/v1/batches/${BATCH}/report`)).body;
	});

	afterAll(async () => {
		await prometheus?.stop();
		await sink?.close();
		await served?.close();
		await service?.cleanup();
	});

	it('ran the batch the checks below rely on', () => {
		expect(report.status).toBe('completed_with_errors');
		expect(report.summary.succeeded).toBe(1800);
		expect(report.summary.failed).toBe(200);
		expect(report.summary.skipped).toBe(25);
	});

	it('scrapes during the batch and ends with counters equal to the report', async () => {
		const final = report.summary.succeeded as number;
		// Prometheus saw the batch part-way, not only its end.
		expect(seenWhileRunning.some((value) => value > 0 && value < final)).toBe(true);
		const expected: Record<string, number> = {
			succeeded: report.summary.succeeded,
			dead_lettered: report.summary.failed,
			skipped: report.summary.skipped,
		};
		const read = async (): Promise<Record<string, number>> => {
			const out: Record<string, number> = {};
			for (const outcome of Object.keys(expected)) {
				const [perBatch] = await prometheus.query(
					`sum(bg_batch_items_total{batch="${BATCH}",outcome="${outcome}"})`,
				);
				const [all] = await prometheus.query(`sum(bg_items_total{outcome="${outcome}"})`);
				out[outcome] = perBatch?.value ?? -1;
				out[`all ${outcome}`] = all?.value ?? -1;
			}
			return out;
		};
		const want = Object.fromEntries(
			Object.entries(expected).flatMap(([k, v]) => [
				[k, v],
				[`all ${k}`, v],
			]),
		);
		let last: Record<string, number> = {};
		await eventually(async () => {
			last = await read();
			return JSON.stringify(last) === JSON.stringify(want);
		}, 15_000).catch(() => undefined);
		expect(last).toEqual(want);
		const [chunks] = await prometheus.query('sum(bg_chunk_duration_seconds_count)');
		expect(chunks?.value).toBeGreaterThanOrEqual(50);
		const [granted] = await prometheus.query(
			'sum(bg_limiter_granted_tokens_total{limiter="prom-relay"})',
		);
		expect(granted?.value).toBeGreaterThanOrEqual(2000);
	});

	it('uses in the Grafana dashboard only metrics the service exports, in valid PromQL', async () => {
		expect(
			metricNames(
				'histogram_quantile(0.5, sum by (le) (rate(bg_x_bucket{a="b",c=~"$d"}[5m]))) or vector(0)',
			),
		).toEqual(['bg_x_bucket']);
		const queries = dashboardQueries();
		const used = new Set([...queries.flatMap((q) => metricNames(q.expr)), ...variableMetrics()]);
		// Every family the issue asks for has a panel.
		for (const name of [
			'bg_items_total',
			'bg_batch_items_total',
			'bg_chunk_duration_seconds_bucket',
			'bg_chunks_in_flight',
			'bg_queue_jobs',
			'bg_limiter_granted_tokens_total',
			'bg_limiter_wait_seconds_total',
			'bg_limiter_throttles_total',
			'bg_circuit_state',
		])
			expect(used).toContain(name);

		const scrape = await request(service.app)
			.get('/metrics')
			.set('authorization', `Bearer ${TEST_API_KEY}`);
		expect(scrape.status).toBe(200);
		const exported = new Set(
			scrape.text
				.split('\n')
				.filter((line) => line && !line.startsWith('#'))
				.map((line) => line.split(/[{ ]/)[0]),
		);
		const missing = [...used].filter((name) => !exported.has(name));
		expect(missing).toEqual([]);
		for (const name of used) {
			const [series] = await prometheus.query(`count({__name__="${name}"})`);
			expect({ name, inPrometheus: (series?.value ?? 0) > 0 }).toEqual({
				name,
				inPrometheus: true,
			});
		}
		for (const { title, expr } of queries) {
			await expect(prometheus.query(withVariables(expr)).then(() => title)).resolves.toBe(title);
		}
	});
});
