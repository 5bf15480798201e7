import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { freePort } from '../../scripts/lib/process';
import { redisAnswers, startEmbeddedRedis } from '../../service/src/redis/embedded';

export { freePort, redisAnswers };

export interface PrivateRedis {
	url: string;
	port: number;
	dir: string;
	pid(): number;
	/** Sends a signal (kill -9 by default) and waits for the process to exit. */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Starts redis-server again on the same port and data folder (AOF replays). */
	restart(): Promise<void>;
	stop(): Promise<void>;
}

const quiet = { info: () => undefined, warn: () => undefined };

/**
 * A redis-server of the test's own, on a free port, in a fresh temp folder (removed on stop).
 * `aof: true` fsyncs every write (`always`); `'everysec'` is what a production Redis would run.
 */
export async function startPrivateRedis(
	options: { aof?: boolean | 'always' | 'everysec'; port?: number } = {},
): Promise<PrivateRedis> {
	const port = options.port ?? (await freePort());
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-redis-'));
	const aof = options.aof === true ? 'always' : (options.aof ?? false);
	const redis = await startEmbeddedRedis(dataDir, port, quiet, {
		aof,
		reuseIfAnswering: false,
		ownProcessGroup: false,
	});
	return {
		url: redis.url,
		port,
		dir: redis.dir,
		pid: () => redis.pid,
		kill: redis.kill,
		restart: redis.restart,
		stop: async () => {
			await redis.stop();
			rmSync(dataDir, { recursive: true, force: true });
		},
	};
}

/** The Redis for a test run: REDIS_URL, else the machine's 127.0.0.1:6379, else one of our own. */
export async function resolveTestRedis(): Promise<{ url: string; own?: PrivateRedis }> {
	const fromEnv = process.env.REDIS_URL;
	if (fromEnv) {
		if (await redisAnswers(fromEnv)) return { url: fromEnv };
		throw new Error(
			`REDIS_URL=${fromEnv} does not answer PING; start that Redis or unset REDIS_URL`,
		);
	}
	const local = 'redis://127.0.0.1:6379';
	if (await redisAnswers(local)) return { url: local };
	const own = await startPrivateRedis();
	return { url: own.url, own };
}
