import path from 'node:path';

import { callApi, serviceProcess, type ServiceProcess } from '../../chaos/fleet';
import { startPrivateRedis, type PrivateRedis } from '../../harness/redis';
import { sleep, startSink, type Sink } from './helpers';

/**
 * One clock for every due time: a service whose clock runs 90 s ahead of Redis waits out a 6 s
 * backoff with a handful of script calls (not tens of thousands), and reports items/s measured on
 * Redis time. The service runs as its own process with a shifted Date (test/harness/clock-shift.cjs).
 */
describe('batches: a service clock 90 s ahead of Redis (real processes, private Redis)', () => {
	let redis: PrivateRedis;
	let service: ServiceProcess;
	let sink: Sink;
	beforeAll(async () => {
		redis = await startPrivateRedis();
		service = await serviceProcess(redis.url, 'skew', {
			NODE_OPTIONS: `--require ${path.resolve(__dirname, '../../harness/clock-shift.cjs')}`,
			BG_CLOCK_OFFSET_MS: '90000',
		});
		await service.start();
	}, 30_000);
	afterAll(async () => {
		await service.kill('SIGKILL');
		await sink?.close();
		await redis.stop();
	});

	it('a 6 s Retry-After costs a few script calls, and progress measures items/s on Redis time', async () => {
		let failed = false;
		sink = await startSink(() => {
			if (failed) return {};
			failed = true;
			return { status: 503, headers: { 'retry-after': '6' } };
		});
		await callApi(service.url, 'POST', '/v1/batches', {
			batchKey: 'b-skew',
			targetUrl: sink.url,
			chunkSize: 4,
			backoff: { initialMs: 1, maxMs: 1 },
		});
		await callApi(service.url, 'POST', '/v1/batches/b-skew/items', {
			items: Array.from({ length: 4 }, (_, n) => ({ key: `item-${n}`, json: { n } })),
			final: true,
		});
		await sleep(500);
		const probe = new (await import('ioredis')).Redis(redis.url);
		try {
			await probe.config('RESETSTAT');
			await sleep(4_000);
			const stats = await probe.info('commandstats');
			const evals = [...stats.matchAll(/cmdstat_(?:evalsha|eval):calls=(\d+)/g)].reduce(
				(sum, m) => sum + Number(m[1]),
				0,
			);
			// Within the backoff nothing is due: a delayed job, a sweep or two, no spinning.
			expect(evals).toBeLessThan(40);
		} finally {
			probe.disconnect();
		}
		let progress: any;
		for (let i = 0; i < 40; i++) {
			progress = await callApi(service.url, 'GET', '/v1/batches/b-skew');
			if (progress.state === 'completed') break;
			await sleep(250);
		}
		expect(progress.state).toBe('completed');
		expect(sink.dispatches).toHaveLength(2);
		expect(progress.itemsPerSecond).toBeGreaterThan(0);
		// The retry waited its 6 s on Redis time, not 6 s minus the 90 s skew.
		expect(Date.parse(progress.finishedAt) - Date.parse(progress.startedAt)).toBeGreaterThanOrEqual(
			5_900,
		);
	}, 40_000);
});
