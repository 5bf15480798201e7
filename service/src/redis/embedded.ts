/**
 * The one way this project runs a redis-server of its own: `npm run service` without REDIS_URL,
 * `npm start`, and the tests that kill, restart or fsync a private Redis all come through here.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Redis } from 'ioredis';

/** What we log through; pino's Logger fits, and so does a two-line adapter around console. */
export interface RedisLogger {
	info(fields: object, message: string): void;
	warn(fields: object, message: string): void;
}

export interface EmbeddedRedisOptions {
	/** Append-only file and its fsync policy, or false for memory only. Default 'everysec'. */
	aof?: 'always' | 'everysec' | false;
	/** redis-server's own output (and apt-get's, if it has to install). Default `<dir>/redis.log`. */
	logFile?: string;
	/** When something already answers PING on the port: reuse it (default) or refuse to start. */
	reuseIfAnswering?: boolean;
	startTimeoutMs?: number;
	/**
	 * Run in a process group of its own (default), so a Ctrl-C meant for the parent does not stop
	 * Redis before the parent is done with it. Tests say false: a runner killed with its whole
	 * group (a timeout, Ctrl-C) then takes its private Redis with it instead of leaking it.
	 */
	ownProcessGroup?: boolean;
	/** More redis-server arguments, e.g. `--cluster-enabled yes` for a test cluster's nodes. */
	extraArgs?: string[];
}

export interface EmbeddedRedis {
	url: string;
	port: number;
	/** redis-server's working folder: its AOF lives here. */
	dir: string;
	logFile: string;
	/** The running redis-server's pid; 0 when an already running server was reused. */
	readonly pid: number;
	/** True when another server already answered on the port; kill/restart/stop leave it alone. */
	reused: boolean;
	/** Signals redis-server (SIGKILL by default) and waits until it has exited. */
	kill(signal?: NodeJS.Signals): Promise<void>;
	/** Starts redis-server again on the same port and folder; with AOF on, it replays its log. */
	restart(): Promise<void>;
	/** SIGTERM (redis flushes its AOF and exits), SIGKILL after 30 s. */
	stop(): Promise<void>;
}

export class RedisNotInstalledError extends Error {
	constructor(detail = '') {
		super(
			'redis-server was not found on PATH. Install it (Debian/Ubuntu: `sudo apt-get install -y redis-server`, macOS: `brew install redis`) or set REDIS_URL to a Redis you run yourself.' +
				detail,
		);
	}
}

export class RedisPortInUseError extends Error {
	constructor(readonly port: number) {
		super(`a Redis already answers on 127.0.0.1:${port}; stop it or choose another port`);
	}
}

/**
 * Starts a private redis-server bound to 127.0.0.1 with its data in `<dataDir>/redis`. A parent
 * that exits without stopping it sends it SIGTERM.
 */
export async function startEmbeddedRedis(
	dataDir: string,
	port: number,
	logger: RedisLogger,
	options: EmbeddedRedisOptions = {},
): Promise<EmbeddedRedis> {
	const dir = path.join(dataDir, 'redis');
	mkdirSync(dir, { recursive: true });
	const logFile = options.logFile ?? path.join(dir, 'redis.log');
	mkdirSync(path.dirname(logFile), { recursive: true });
	const url = `redis://127.0.0.1:${port}`;
	const aof = options.aof ?? 'everysec';
	if (await redisAnswers(url)) {
		if (options.reuseIfAnswering === false) throw new RedisPortInUseError(port);
		// A redis-server from an earlier run still holds the port: reuse it rather than fail.
		logger.warn({ url }, 'embedded Redis port already answers; reusing that server');
		const noop = async () => undefined;
		return { url, port, dir, logFile, pid: 0, reused: true, kill: noop, restart: noop, stop: noop };
	}
	await ensureRedisServer(logFile, logger);

	const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', ''];
	args.push('--daemonize', 'no', '--logfile', '');
	if (aof) args.push('--appendonly', 'yes', '--appendfsync', aof);
	else args.push('--appendonly', 'no');
	args.push(...(options.extraArgs ?? []));
	let child: ChildProcess | undefined;

	const launch = async (): Promise<void> => {
		const out = openSync(logFile, 'a');
		const detached = options.ownProcessGroup ?? true;
		child = spawn('redis-server', args, { stdio: ['ignore', out, out], detached });
		if (detached) groupLeaders.add(child);
		closeSync(out);
		child.unref();
		const started = child;
		running.add(started);
		started.once('exit', () => running.delete(started));
		const deadline = Date.now() + (options.startTimeoutMs ?? 20_000);
		while (!(await redisAnswers(url))) {
			if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
				await signalAndWait(started, 'SIGKILL');
				throw new Error(`redis-server did not start on ${url}; ${logFile} ends:\n${tail(logFile)}`);
			}
			await sleep(50);
		}
	};
	await launch();
	logger.info({ url, dir, pid: child?.pid, aof }, 'embedded Redis started');
	return {
		url,
		port,
		dir,
		logFile,
		get pid() {
			return child?.pid ?? 0;
		},
		reused: false,
		kill: async (signal = 'SIGKILL') => {
			if (child) await signalAndWait(child, signal);
		},
		restart: launch,
		stop: async () => {
			if (!child) return;
			const stopped = child;
			const force = setTimeout(() => signalGroup(stopped, 'SIGKILL'), 30_000);
			await signalAndWait(stopped, 'SIGTERM');
			clearTimeout(force);
		},
	};
}

/** True when a Redis at `url` answers PING within a second (a loading one answers -LOADING). */
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

/** On a Debian machine as root, installs redis-server with apt-get; otherwise says how to get it. */
export async function ensureRedisServer(logFile: string, logger: RedisLogger): Promise<void> {
	if (!spawnSync('redis-server', ['--version']).error) return;
	const isRoot = process.getuid?.() === 0;
	if (!isRoot || spawnSync('apt-get', ['--version']).error) throw new RedisNotInstalledError();
	logger.warn({ logFile }, 'redis-server missing: installing the Debian package redis-server');
	const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
	for (const args of [['update'], ['install', '-y', 'redis-server']]) {
		const out = openSync(logFile, 'a');
		const apt = spawn('apt-get', args, { stdio: ['ignore', out, out], env });
		closeSync(out);
		const code = await new Promise<number | null>((resolve) => {
			apt.once('error', () => resolve(-1));
			apt.once('exit', (exitCode) => resolve(exitCode));
		});
		if (code !== 0) {
			throw new RedisNotInstalledError(` (apt-get ${args.join(' ')} failed; see ${logFile})`);
		}
	}
	if (spawnSync('redis-server', ['--version']).error) throw new RedisNotInstalledError();
}

/** Servers started here and not yet exited: SIGTERM'd if this process exits without stopping them. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
	for (const child of running) signalGroup(child, 'SIGTERM');
});

const groupLeaders = new WeakSet<ChildProcess>();

/** The whole group when it has one: an AOF rewrite runs in a child that must go with its parent. */
function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
	try {
		if (child.pid) process.kill(groupLeaders.has(child) ? -child.pid : child.pid, signal);
	} catch {
		// Already gone.
	}
}

async function signalAndWait(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((resolve) => child.once('exit', resolve));
	signalGroup(child, signal);
	await exited;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The end of redis-server's log for an error message (redis logs a few lines per start). */
function tail(file: string): string {
	if (!existsSync(file)) return '(no log)';
	return readFileSync(file, 'utf8').slice(-3000).trim() || '(empty)';
}
