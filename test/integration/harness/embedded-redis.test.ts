import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

import {
	RedisPortInUseError,
	redisAnswers,
	startEmbeddedRedis,
	type EmbeddedRedis,
} from '../../../service/src/redis/embedded';
import { freePort, startPrivateRedis } from '../../harness/redis';

const quiet = { info: () => undefined, warn: () => undefined };

/** The one embedded Redis module, as the service, `npm start` and the tests use it. */
describe('embedded redis-server', () => {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-embedded-'));
	const started: EmbeddedRedis[] = [];
	afterAll(async () => {
		for (const redis of started) await redis.stop();
		rmSync(dataDir, { recursive: true, force: true });
	});

	it('keeps fsynced writes across kill -9 and restart, with a new pid', async () => {
		const redis = await startPrivateRedis({ aof: true });
		try {
			const client = new Redis(redis.url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
			client.on('error', () => undefined);
			await client.set('survives', 'yes');
			client.disconnect();
			const before = redis.pid();
			await redis.kill('SIGKILL');
			expect(await redisAnswers(redis.url)).toBe(false);
			await redis.restart();
			expect(redis.pid()).not.toBe(before);
			const again = new Redis(redis.url, { maxRetriesPerRequest: 1 });
			expect(await again.get('survives')).toBe('yes');
			again.disconnect();
		} finally {
			await redis.stop();
		}
		expect(await redisAnswers(redis.url)).toBe(false);
	});

	it('writes its own log file and reuses, or refuses, a server already on the port', async () => {
		const port = await freePort();
		const logFile = path.join(dataDir, 'logs', 'redis.log');
		const first = await startEmbeddedRedis(dataDir, port, quiet, { aof: 'everysec', logFile });
		started.push(first);
		expect(first.reused).toBe(false);
		expect(first.pid).toBeGreaterThan(0);
		expect(first.dir).toBe(path.join(dataDir, 'redis'));
		expect(readFileSync(logFile, 'utf8')).toMatch(/Ready to accept connections/);

		const reused = await startEmbeddedRedis(dataDir, port, quiet);
		expect(reused).toMatchObject({ reused: true, pid: 0, url: first.url });
		await reused.stop();
		expect(await redisAnswers(first.url)).toBe(true);

		await expect(
			startEmbeddedRedis(dataDir, port, quiet, { reuseIfAnswering: false }),
		).rejects.toBeInstanceOf(RedisPortInUseError);
	});
});
