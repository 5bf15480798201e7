import { Redis } from 'ioredis';

import { startPrivateRedis, type PrivateRedis } from '../../harness/redis';
import { createTestService, type TestService } from '../../harness/service';
import {
	api,
	items,
	serveApp,
	sleep,
	startSink,
	submitBatch,
	waitDone,
	type Sink,
} from './helpers';

/**
 * Finished batches expire after BATCH_RETENTION_HOURS (here about 2 s): their items, dead
 * letters, chunks and jobs go, and Redis memory returns to where it was. An operator may delete
 * a finished batch at once; a running one is refused.
 */
describe('batches: retention and delete (private redis-server)', () => {
	let redis: PrivateRedis;
	let probe: Redis;
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	let sink: Sink;
	beforeAll(async () => {
		redis = await startPrivateRedis();
		probe = new Redis(redis.url);
		service = createTestService(
			{ REDIS_URL: redis.url, BATCH_RETENTION_HOURS: '0.0006', SWEEP_INTERVAL_MS: '500' },
			{ dispatcher: true },
		);
		served = await serveApp(service.app);
		sink = await startSink();
	});
	afterAll(async () => {
		await sink.close();
		await served.close();
		await service.cleanup();
		probe.disconnect();
		await redis.stop();
	});

	const usedMemory = async (): Promise<number> => {
		// Touch every key so expired ones are reclaimed now, not whenever Redis samples them.
		let cursor = '0';
		do {
			const [next, keys] = await probe.scan(cursor, 'COUNT', 1000);
			if (keys.length > 0) await probe.exists(...keys);
			cursor = next;
		} while (cursor !== '0');
		const info = await probe.info('memory');
		return Number(/used_memory:(\d+)/.exec(info)?.[1]);
	};

	const run = async (batchKey: string, count: number) => {
		const batchId = await submitBatch(
			service.app,
			{ batchKey, targetUrl: sink.url, chunkSize: 100, concurrency: 8 },
			items(count),
			5000,
		);
		return waitDone(service.app, batchId, 120_000);
	};

	it('memory after 20 finished 10,000-item batches and their expiry returns to its starting level', async () => {
		// A warm-up batch creates the queues' own keys, which stay.
		await run('warm-up', 200);
		await sleep(3_000);
		const before = await usedMemory();
		for (let b = 0; b < 20; b += 4) {
			const done = await Promise.all([0, 1, 2, 3].map((i) => run(`big-${b + i}`, 10_000)));
			for (const progress of done) expect(progress.counts.succeeded).toBe(10_000);
		}
		const full = await usedMemory();
		// Earlier groups may have expired already; the last four alone hold several MB.
		expect(full - before).toBeGreaterThan(4 * 1_000_000);
		await sleep(4_000);
		const after = await usedMemory();
		// Every key of every batch is gone: what is left is the queues' own bookkeeping and the
		// batch index (entries of expired batches are swept from it after a minute).
		const left = (await probe.keys('*')).filter(
			(key) => !key.includes(':bull}:') && key !== service.ctx.keys.batchIndex(),
		);
		expect(left).toEqual([]);
		// Redis's own tables shrink lazily: allow half a MB of the ~20 MB the batches took.
		expect(after - before).toBeLessThan(512 * 1024);
		expect(await probe.exists(service.ctx.keys.batch('big-0'))).toBe(0);
		expect((await api(service.app).get('/v1/batches/big-0')).status).toBe(404);
	}, 240_000);

	it('DELETE removes a finished batch at once and refuses a running one', async () => {
		await api(service.app).post('/v1/batches', { batchKey: 'b-open' });
		const refused = await api(service.app).delete('/v1/batches/b-open');
		expect(refused.status).toBe(409);
		expect(refused.body.error.code).toBe('batch_running');
		expect(refused.body.error.message).toMatch(/cancel it first/);
		await api(service.app).post('/v1/batches/b-open/cancel');
		const deleted = await api(service.app).delete('/v1/batches/b-open');
		expect(deleted.body).toEqual({ batchId: 'b-open', deleted: true });
		expect((await api(service.app).get('/v1/batches/b-open')).status).toBe(404);
		const left = await probe.keys(`${service.ctx.keys.batch('b-open')}*`);
		expect(left).toEqual([]);
		expect((await api(service.app).delete('/v1/batches/b-open')).status).toBe(404);
	});
});
