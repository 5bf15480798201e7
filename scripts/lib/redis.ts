import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';

import {
	cleanEnv,
	groupAlive,
	run,
	sleep,
	spawnGroup,
	stopGroup,
	tail,
	type Log,
} from '../../test/harness/n8n/process';

export interface EmbeddedRedis {
	url: string;
	pid: number;
	stop(): Promise<void>;
}

/** Answers whether something speaking RESP answers PING on host:port within the timeout. */
export async function redisPing(port: number, host = '127.0.0.1', timeoutMs = 1000) {
	return await new Promise<boolean>((resolve) => {
		const socket = createConnection({ port, host });
		const done = (ok: boolean) => {
			socket.destroy();
			resolve(ok);
		};
		socket.setTimeout(timeoutMs, () => done(false));
		socket.on('error', () => done(false));
		socket.on('connect', () => socket.write('PING\r\n'));
		socket.on('data', (data) => done(data.toString().startsWith('+PONG')));
	});
}

function hasRedisServer(): boolean {
	try {
		execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
		return true;
	} catch {
		return false;
	}
}

/** On a fresh Debian box as root, fetch redis-server from apt; otherwise say how to get it. */
async function ensureRedisServer(logFile: string, log: Log): Promise<void> {
	if (hasRedisServer()) return;
	if (process.getuid?.() !== 0) {
		throw new Error(
			'redis-server is not installed. Install it (Debian/Ubuntu: sudo apt-get install -y ' +
				'redis-server; macOS: brew install redis) or set REDIS_URL to an existing Redis.',
		);
	}
	log('redis-server not found; installing it with apt-get (log: ' + logFile + ')...');
	const env = cleanEnv({ DEBIAN_FRONTEND: 'noninteractive' });
	await run('apt-get', ['update'], { cwd: '/', env, logFile });
	await run('apt-get', ['install', '-y', 'redis-server'], { cwd: '/', env, logFile });
	if (!hasRedisServer()) throw new Error(`apt-get installed redis-server but it does not run`);
}

/**
 * Runs a private redis-server with AOF on (promise 1: nothing is lost across restarts) in
 * dataDir, bound to localhost. It is the launcher's child; the launcher stops it last.
 */
export async function startEmbeddedRedis(options: {
	port: number;
	dataDir: string;
	logFile: string;
	log: Log;
}): Promise<EmbeddedRedis> {
	await ensureRedisServer(options.logFile, options.log);
	if (await redisPing(options.port)) {
		throw new Error(
			`a Redis already answers on 127.0.0.1:${options.port}. Stop it, choose another port ` +
				`with BG_REDIS_PORT, or use it with REDIS_URL=redis://127.0.0.1:${options.port}`,
		);
	}
	mkdirSync(options.dataDir, { recursive: true });
	const args = [
		'--port',
		String(options.port),
		'--bind',
		'127.0.0.1',
		'--dir',
		options.dataDir,
		'--appendonly',
		'yes',
		'--appendfsync',
		'everysec',
		'--daemonize',
		'no',
		'--logfile',
		'',
	];
	const child = spawnGroup('redis-server', args, {
		cwd: options.dataDir,
		env: cleanEnv(),
		logFile: options.logFile,
	});
	const pid = child.pid as number;
	const deadline = Date.now() + 20_000;
	while (!(await redisPing(options.port))) {
		if (!groupAlive(pid) || Date.now() > deadline) {
			await stopGroup(pid, 2000);
			throw new Error(
				`redis-server did not start; log ${options.logFile}:\n${tail(options.logFile)}`,
			);
		}
		await sleep(100);
	}
	return {
		url: `redis://127.0.0.1:${options.port}`,
		pid,
		// SIGTERM makes redis flush the AOF and exit; it can take a moment on a big data set.
		stop: async () => void (await stopGroup(pid, 30_000)),
	};
}

export const redisDataDir = (dataRoot: string) => join(dataRoot, 'redis');
