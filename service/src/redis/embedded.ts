import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';

import type { Logger } from '../logger';

export interface EmbeddedRedis {
	url: string;
	pid: number;
	stop(): Promise<void>;
}

export class RedisNotInstalledError extends Error {
	constructor() {
		super(
			'redis-server was not found on PATH. Install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) or set REDIS_URL to a Redis you run yourself.',
		);
	}
}

/** Starts a private redis-server with AOF under dataDir, so one command runs everything durably. */
export async function startEmbeddedRedis(
	dataDir: string,
	port: number,
	logger: Logger,
): Promise<EmbeddedRedis> {
	if (spawnSync('redis-server', ['--version']).error) throw new RedisNotInstalledError();
	const dir = path.join(dataDir, 'redis');
	mkdirSync(dir, { recursive: true });
	const url = `redis://127.0.0.1:${port}`;
	if (await answers(url)) {
		// A redis-server from an earlier run still holds the port: reuse it rather than fail.
		logger.warn({ url }, 'embedded Redis port already answers; reusing that server');
		return { url, pid: 0, stop: async () => undefined };
	}
	const child = spawn(
		'redis-server',
		[
			'--port',
			String(port),
			'--bind',
			'127.0.0.1',
			'--dir',
			dir,
			'--appendonly',
			'yes',
			'--appendfsync',
			'everysec',
			'--save',
			'',
		],
		{ stdio: ['ignore', 'ignore', 'pipe'] },
	);
	let stderr = '';
	child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
	const deadline = Date.now() + 10_000;
	while (!(await answers(url))) {
		if (child.exitCode !== null || Date.now() > deadline) {
			child.kill('SIGKILL');
			throw new Error(
				`Embedded redis-server did not start on ${url}: ${stderr.trim() || 'no output'}`,
			);
		}
		await new Promise((resolve) => setTimeout(resolve, 100));
	}
	logger.info({ url, dir, pid: child.pid }, 'embedded Redis started (AOF on)');
	return { url, pid: child.pid ?? 0, stop: () => stopChild(child) };
}

async function answers(url: string): Promise<boolean> {
	const probe = new Redis(url, {
		lazyConnect: true,
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

function stopChild(child: ChildProcess): Promise<void> {
	if (child.exitCode !== null) return Promise.resolve();
	return new Promise((resolve) => {
		const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
		child.once('exit', () => {
			clearTimeout(force);
			resolve();
		});
		child.kill('SIGTERM');
	});
}
