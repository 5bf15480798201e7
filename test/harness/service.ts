import { randomBytes } from 'node:crypto';
import type { Express } from 'express';

import { createApp } from '../../service/src/app';
import { assembleBatches, type Batches } from '../../service/src/batches';
import { configSchema, type Config } from '../../service/src/config';
import type { ServiceContext } from '../../service/src/context';
import { createLogger } from '../../service/src/logger';
import {
	createRedis,
	parseClusterNodes,
	type RedisTarget,
} from '../../service/src/redis/connection';
import { Keys } from '../../service/src/redis/keys';
import { stopUi } from '../../service/src/ui';

export const TEST_API_KEY = 'test-key-0123456789abcdef';

export interface TestService {
	ctx: ServiceContext;
	app: Express;
	batches: Batches;
	/** Deletes every key under this test's prefix and closes the connection. */
	cleanup(): Promise<void>;
}

/**
 * A service context on the run's real Redis (or the cluster in REDIS_CLUSTER_NODES), under a
 * random key prefix of its own, assembled like the service does it.
 */
export function createTestService(
	overrides: Partial<Record<keyof Config, string>> = {},
	options: { dispatcher?: boolean; logger?: ServiceContext['logger'] } = {},
): TestService {
	const redisUrl = overrides.REDIS_URL ?? process.env.REDIS_URL;
	if (!redisUrl && !overrides.REDIS_CLUSTER_NODES)
		throw new Error(
			'REDIS_URL is not set: run integration tests through jest (its global setup finds Redis)',
		);
	const prefix = overrides.KEY_PREFIX ?? `bgt-${randomBytes(5).toString('hex')}`;
	const config = configSchema.parse({
		API_KEY: TEST_API_KEY,
		REDIS_URL: redisUrl,
		LOG_LEVEL: 'silent',
		...overrides,
		KEY_PREFIX: prefix,
	});
	const target: RedisTarget = config.REDIS_CLUSTER_NODES
		? {
				url: `redis://${config.REDIS_CLUSTER_NODES.split(',')[0].trim()}`,
				clusterNodes: parseClusterNodes(config.REDIS_CLUSTER_NODES),
			}
		: { url: redisUrl as string };
	const redis = createRedis(target);
	redis.on('error', () => undefined);
	const ctx: ServiceContext = {
		config,
		redis,
		redisTarget: target,
		keys: new Keys(prefix),
		logger: options.logger ?? createLogger(process.env.TEST_LOG_LEVEL ?? 'silent'),
	};
	const batches = assembleBatches(ctx);
	const app = createApp(ctx, batches);
	// Chunks are POSTed only by a started dispatcher (the service always starts one).
	if (options.dispatcher) batches.start();
	return {
		ctx,
		app,
		batches,
		cleanup: async () => {
			await batches.stop(1_000);
			await stopUi(ctx);
			await deleteByPrefix(ctx, prefix);
			await redis.quit().catch(() => redis.disconnect());
		},
	};
}

/** Deletes every key of a prefix (on every master of a cluster). */
export async function deleteByPrefix(ctx: Pick<ServiceContext, 'redis'>, prefix: string) {
	const redis = ctx.redis;
	const nodes = 'nodes' in redis ? redis.nodes('master') : [redis];
	for (const node of nodes) {
		for (const pattern of [`${prefix}:*`, `{${prefix}:*`]) {
			let cursor = '0';
			do {
				const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
				for (const key of keys) await node.unlink(key);
				cursor = next;
			} while (cursor !== '0');
		}
	}
}
