import { ConfigError, loadConfig } from './config';
import { createLogger } from './logger';
import { startService } from './server';

/** `npm run service`: the companion service alone, configured by environment variables. */
async function main(): Promise<void> {
	let config;
	try {
		config = loadConfig();
	} catch (error) {
		if (error instanceof ConfigError) {
			console.error(error.message);
			process.exit(2);
		}
		throw error;
	}
	const logger = createLogger(config.LOG_LEVEL);
	const service = await startService(config, logger);
	let signalled = false;
	const shutdown = (signal: string): void => {
		if (signalled) return;
		signalled = true;
		logger.info({ signal }, 'shutting down');
		const force = setTimeout(() => {
			logger.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS }, 'shutdown took too long; exiting');
			process.exit(1);
		}, config.SHUTDOWN_TIMEOUT_MS);
		force.unref();
		service.stop().then(
			() => process.exit(0),
			(error: unknown) => {
				logger.error({ err: error }, 'shutdown failed');
				process.exit(1);
			},
		);
	};
	process.on('SIGTERM', () => shutdown('SIGTERM'));
	process.on('SIGINT', () => shutdown('SIGINT'));
}

main().catch((error: unknown) => {
	console.error(error instanceof Error ? error.message : error);
	process.exit(1);
});
