import { randomBytes } from 'node:crypto';
import type { Express } from 'express';
import { Redis } from 'ioredis';

import { createApp } from '../../service/src/app';
import { startBatchDispatcher, stopBatches } from '../../service/src/batches';
import { configSchema, type Config } from '../../service/src/config';
import type { ServiceContext } from '../../service/src/context';
import { createLogger } from '../../service/src/logger';
import { Keys } from '../../service/src/redis/keys';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

export interface TestService {
	ctx: ServiceContext;
	app: Express;
	/** Deletes every key under this test's prefix and closes the connection. */
	cleanup(): Promise<void>;
}

/** A service context on the run's real Redis, under a random key prefix of its own. */
export function createTestService(
	overrides: Partial<Record<keyof Config, string>> = {},
	options: { dispatcher?: boolean } = {},
): TestService {
	const redisUrl = process.env.REDIS_URL;
	if (!redisUrl)
		throw new Error(
			'REDIS_URL is not set: run integration tests through jest (its global setup finds Redis)',
		);
	const prefix = `bgt-${randomBytes(5).toString('hex')}`;
	const config = configSchema.parse({
		API_KEY: TEST_API_KEY,
		REDIS_URL: redisUrl,
		KEY_PREFIX: prefix,
		LOG_LEVEL: 'silent',
		...overrides,
	});
	const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
	const ctx: ServiceContext = {
		config,
		redis,
		redisUrl,
		keys: new Keys(prefix),
		logger: createLogger('silent'),
	};
	const app = createApp(ctx);
	// Batch chunks are POSTed only by a started dispatcher (the service always starts one).
	if (options.dispatcher) startBatchDispatcher(ctx);
	return {
		ctx,
		app,
		cleanup: async () => {
			await stopBatches(ctx, 1_000);
			await deleteByPrefix(redis, prefix);
			await redis.quit();
		},
	};
}

export async function deleteByPrefix(redis: Redis, prefix: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
		if (keys.length > 0) await redis.unlink(...keys);
		cursor = next;
	} while (cursor !== '0');
}
