import type { AddressInfo } from 'node:net';

import { createApp } from './app';
import { assembleBatches } from './batches';
import type { Config } from './config';
import type { ServiceContext } from './context';
import { listenHttp } from './http/listen';
import { createLogger, type Logger } from './logger';
import { createRedis, parseClusterNodes, type RedisTarget } from './redis/connection';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded';
import { Keys } from './redis/keys';
import { stopUi } from './ui';

export interface RunningService {
	url: string;
	ctx: ServiceContext;
	/** Stops taking requests, releases in-flight work, closes Redis; idempotent. */
	stop(): Promise<void>;
}

/** Where Redis is: a cluster, REDIS_URL, or else an embedded redis-server (started here). */
async function redisTarget(
	config: Config,
	logger: Logger,
): Promise<{ target: RedisTarget; embedded?: EmbeddedRedis }> {
	if (config.REDIS_CLUSTER_NODES) {
		const clusterNodes = parseClusterNodes(config.REDIS_CLUSTER_NODES);
		const first = clusterNodes[0];
		return { target: { url: `redis://${first.host}:${first.port}`, clusterNodes } };
	}
	if (config.REDIS_URL) return { target: { url: config.REDIS_URL } };
	const embedded = await startEmbeddedRedis(config.DATA_DIR, config.EMBEDDED_REDIS_PORT, logger);
	return { target: { url: embedded.url }, embedded };
}

export async function startService(
	config: Config,
	logger: Logger = createLogger(config.LOG_LEVEL),
): Promise<RunningService> {
	const { target, embedded } = await redisTarget(config, logger);
	const redis = createRedis(target);
	redis.on('error', (error: Error) =>
		logger.warn({ err: error.message }, 'redis connection error'),
	);
	const ctx: ServiceContext = {
		config,
		redis,
		redisTarget: target,
		keys: new Keys(config.KEY_PREFIX),
		logger,
	};
	const batches = assembleBatches(ctx);
	const app = createApp(ctx, batches);
	batches.start();
	const server = await listenHttp(app, config, logger);
	const { port } = server.address() as AddressInfo;
	const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
	logger.info(
		{
			url,
			redis: redact(target.url),
			cluster: !!target.clusterNodes,
			keyPrefix: config.KEY_PREFIX,
		},
		'service listening',
	);

	let stopping: Promise<void> | undefined;
	const stop = (): Promise<void> =>
		(stopping ??= (async () => {
			// Batches first: stop taking chunks, let in-flight ones finish (or leave them in doubt).
			await batches.stop(config.SHUTDOWN_TIMEOUT_MS / 2);
			await stopUi(ctx);
			const closed = new Promise<void>((resolve) => server.close(() => resolve()));
			// Idle keep-alive sockets would otherwise hold close() open until they time out.
			server.closeIdleConnections();
			await closed;
			await redis.quit().catch(() => redis.disconnect());
			await embedded?.stop();
			logger.info('service stopped');
		})());
	return { url, ctx, stop };
}

function redact(url: string): string {
	return url.replace(/\/\/([^@/]*)@/, '//***@');
}
