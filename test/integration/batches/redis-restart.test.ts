import { startPrivateRedis, type PrivateRedis } from '../../harness/redis';
import { createTestService, type TestService } from '../../harness/service';
import {
	api,
	callService,
	items,
	serveApp,
	sleep,
	startSink,
	submitBatch,
	waitDone,
	type Sink,
} from './helpers';

/**
 * Redis restarts from its AOF while a chunk is at its worker. What the service learns meanwhile
 * (a 2xx for the chunk, a Record Results call) is recorded once Redis is back, never dropped, so
 * nothing is sent again; /ready says not ready meanwhile, and nothing crashes.
 */
describe('batches: Redis away for seconds mid-batch (private redis-server with AOF)', () => {
	let redis: PrivateRedis;
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	let sink: Sink | undefined;
	beforeEach(async () => {
		redis = await startPrivateRedis({ aof: true });
		service = createTestService(
			{ REDIS_URL: redis.url, LEASE_GRACE_MS: '20000', REDIS_RETRY_MS: '20000' },
			{ dispatcher: true },
		);
		served = await serveApp(service.app);
	});
	afterEach(async () => {
		await sink?.close();
		await served.close();
		await service.cleanup();
		await redis.stop();
	});

	const outage = async (ms: number): Promise<{ readyDuring: number }> => {
		await redis.kill('SIGKILL');
		await sleep(300);
		const ready = await fetch(`${served.url}/ready`, {
			headers: { 'x-api-key': 'test-key-0123456789abcdef' },
		});
		await sleep(ms - 300);
		await redis.restart();
		return { readyDuring: ready.status };
	};

	it('the 2xx of a chunk answered while Redis restarts is recorded once it is back: nothing resent', async () => {
		let readyDuring = 0;
		let submitted!: () => void;
		const allSubmitted = new Promise<void>((resolve) => (submitted = resolve));
		let first = true;
		sink = await startSink(async () => {
			if (first) {
				first = false;
				await allSubmitted;
				// Redis goes away while this chunk is at the worker and stays away ~5 s past its answer.
				void outage(5_000).then((r) => (readyDuring = r.readyDuring));
				await sleep(500);
			}
			return {};
		});
		const batchId = await submitBatch(
			service.app,
			{ batchKey: 'b-restart', targetUrl: sink.url, chunkSize: 10, timeoutMs: 20_000 },
			items(30),
		);
		submitted();
		const progress = await waitDone(service.app, batchId, 40_000);
		expect(readyDuring).toBe(503);
		expect(progress.counts).toMatchObject({ succeeded: 30, deadLettered: 0, retrying: 0 });
		for (const item of items(30)) expect(sink.seen.get(`b-restart:${item.key}`)).toBe(1);
		expect((await api(service.app).get('/ready')).status).toBe(200);
	}, 60_000);

	it('Record Results sent while Redis is away is held and recorded once Redis is back', async () => {
		await api(service.app).post('/v1/batches', { batchKey: 'b-held' });
		await api(service.app).post('/v1/batches/b-held/items', { items: items(3), final: true });
		const claimed = await api(service.app).post('/v1/batches/b-held/claim', {
			keys: ['item-0', 'item-1', 'item-2'],
		});
		const away = outage(4_000);
		await sleep(400);
		const started = Date.now();
		const recorded = await callService(served.url, 'POST', '/v1/batches/b-held/results', {
			lease: claimed.body.lease,
			results: items(3).map((item) => ({ key: item.key, status: 'succeeded' })),
		});
		await away;
		expect(recorded.status).toBe(200);
		expect(Date.now() - started).toBeGreaterThan(2_000);
		expect(recorded.body).toMatchObject({ succeeded: 3, ignored: [] });
		const progress = (await api(service.app).get('/v1/batches/b-held')).body;
		expect(progress).toMatchObject({ state: 'completed', counts: { succeeded: 3 } });
	}, 30_000);
});
