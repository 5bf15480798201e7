import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { createApp } from './app';
import { startBatchDispatcher, stopBatches } from './batches';
import type { Config } from './config';
import type { ServiceContext } from './context';
import { createLogger, type Logger } from './logger';
import { createRedis } from './redis/connection';
import { startEmbeddedRedis, type EmbeddedRedis } from './redis/embedded';
import { Keys } from './redis/keys';

export interface RunningService {
	url: string;
	ctx: ServiceContext;
	/** Stops taking requests, releases in-flight work, closes Redis; idempotent. */
	stop(): Promise<void>;
}

export async function startService(
	config: Config,
	logger: Logger = createLogger(config.LOG_LEVEL),
): Promise<RunningService> {
	let embedded: EmbeddedRedis | undefined;
	let redisUrl = config.REDIS_URL;
	if (!redisUrl) {
		embedded = await startEmbeddedRedis(config.DATA_DIR, config.EMBEDDED_REDIS_PORT, logger);
		redisUrl = embedded.url;
	}
	const redis = createRedis(redisUrl);
	redis.on('error', (error) => logger.warn({ err: error.message }, 'redis connection error'));
	const ctx: ServiceContext = {
		config,
		redis,
		redisUrl,
		keys: new Keys(config.KEY_PREFIX),
		logger,
	};
	const app = createApp(ctx);
	startBatchDispatcher(ctx);
	const server = await listen(app, config.PORT, config.HOST);
	const { port } = server.address() as AddressInfo;
	const url = `http://${config.HOST.includes(':') ? `[${config.HOST}]` : config.HOST}:${port}`;
	logger.info({ url, redis: redact(redisUrl), keyPrefix: config.KEY_PREFIX }, 'service listening');

	let stopping: Promise<void> | undefined;
	const stop = (): Promise<void> =>
		(stopping ??= (async () => {
			// Batches first: stop taking chunks, let in-flight ones finish (or release them), end long-polls.
			await stopBatches(ctx, config.SHUTDOWN_TIMEOUT_MS / 2);
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

function listen(app: ReturnType<typeof createApp>, port: number, host: string): Promise<Server> {
	return new Promise((resolve, reject) => {
		const server = app.listen(port, host, (error?: Error) =>
			error ? reject(error) : resolve(server),
		);
		server.once('error', reject);
	});
}

function redact(url: string): string {
	return url.replace(/\/\/([^@/]*)@/, '//***@');
}
