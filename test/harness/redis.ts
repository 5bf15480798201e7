import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';

/** True when a Redis at `url` answers PING within a second. */
export async function redisAnswers(url: string): Promise<boolean> {
	const probe = new Redis(url, {
		lazyConnect: true,
		connectTimeout: 1_000,
		maxRetriesPerRequest: 0,
		retryStrategy: () => null,
	});
	probe.on('error', () => undefined);
	try {
		await probe.connect();
		return (await probe.ping()) === 'PONG';
	} catch {
		return false;
	} finally {
		probe.disconnect();
	}
}

export function freePort(): Promise<number> {
	return new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address() as { port: number };
			server.close(() => resolve(port));
		});
	});
}

/** Installs Debian's redis-server when it is missing and we are root; otherwise says how to get it. */
export function ensureRedisServerBinary(): void {
	if (!spawnSync('redis-server', ['--version']).error) return;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (!isRoot || spawnSync('apt-get', ['--version']).error) {
		throw new Error(
			'redis-server is not installed. Install it (Debian/Ubuntu: `sudo apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to a running Redis.',
		);
	}
	console.log('[redis] redis-server missing: installing Debian package redis-server');
	for (const args of [['update'], ['install', '-y', 'redis-server']]) {
		const result = spawnSync('apt-get', args, {
			stdio: 'inherit',
			env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
		});
		if (result.status !== 0)
			throw new Error(
				`apt-get ${args.join(' ')} failed; install redis-server by hand or set REDIS_URL`,
			);
	}
}

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

/** A redis-server of the test's own, on a free port, with AOF fsync'd every write when asked. */
export async function startPrivateRedis(
	options: { aof?: boolean; port?: number } = {},
): Promise<PrivateRedis> {
	ensureRedisServerBinary();
	const port = options.port ?? (await freePort());
	const dir = mkdtempSync(path.join(os.tmpdir(), 'bg-redis-'));
	const url = `redis://127.0.0.1:${port}`;
	const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
	if (options.aof) args.push('--appendonly', 'yes', '--appendfsync', 'always');
	let child: ChildProcess;
	const launch = async (): Promise<void> => {
		child = spawn('redis-server', args, { stdio: 'ignore' });
		const deadline = Date.now() + 10_000;
		while (!(await redisAnswers(url))) {
			if (child.exitCode !== null || Date.now() > deadline) {
				throw new Error(`redis-server did not start on port ${port}`);
			}
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
	};
	const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
		if (child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise((resolve) => child.once('exit', resolve));
		child.kill(signal);
		await exited;
	};
	await launch();
	return {
		url,
		port,
		dir,
		pid: () => child.pid ?? 0,
		kill,
		restart: launch,
		stop: async () => {
			await kill('SIGTERM');
			rmSync(dir, { recursive: true, force: true });
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
