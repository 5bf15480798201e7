import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { cleanEnv, groupAlive, spawnGroup, stopGroup, tail, waitForHttp } from './process';

export const REPO_ROOT = resolve(__dirname, '..', '..');

export interface ServiceOptions {
	port: number;
	host?: string;
	redisUrl: string;
	apiKey: string;
	keyPrefix?: string;
	logLevel?: string;
	logFile: string;
	env?: NodeJS.ProcessEnv;
	readyTimeoutMs?: number;
}

export interface RunningService {
	url: string;
	apiKey: string;
	pid: number;
	logFile: string;
	stop(): Promise<void>;
}

/**
 * Starts the companion service from source (tsx), in its own process group, and waits until
 * /ready says Redis is reachable. Used by the e2e global setup and by `npm start`.
 */
export async function startCompanionService(options: ServiceOptions): Promise<RunningService> {
	const host = options.host ?? '127.0.0.1';
	const tsx = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
	if (!existsSync(tsx)) throw new Error(`tsx missing at ${tsx}; run npm install at the repo root`);
	const env = cleanEnv({
		PORT: String(options.port),
		HOST: host,
		REDIS_URL: options.redisUrl,
		API_KEY: options.apiKey,
		LOG_LEVEL: options.logLevel ?? 'info',
		...(options.keyPrefix ? { KEY_PREFIX: options.keyPrefix } : {}),
		...options.env,
	});
	const child = spawnGroup(tsx, [join('service', 'src', 'main.ts')], {
		cwd: REPO_ROOT,
		env,
		logFile: options.logFile,
	});
	const pid = child.pid as number;
	let exited = false;
	child.once('exit', () => (exited = true));
	const url = `http://${host}:${options.port}`;
	const stop = async () => {
		await stopGroup(pid, 20_000);
	};
	try {
		await waitForHttp(`${url}/ready`, {
			timeoutMs: options.readyTimeoutMs ?? 60_000,
			headers: { 'x-api-key': options.apiKey },
			alive: () => !exited && groupAlive(pid),
			describe: () => `service log ${options.logFile}:\n${tail(options.logFile)}`,
		});
	} catch (error) {
		await stop();
		throw error;
	}
	return { url, apiKey: options.apiKey, pid, logFile: options.logFile, stop };
}
