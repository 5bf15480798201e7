import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createServer } from 'node:net';

export type Log = (message: string) => void;

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Asks the kernel for a free port by binding :0; the tiny race before reuse is fine for tests. */
export async function freePort(host = '127.0.0.1'): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.unref();
		server.on('error', reject);
		server.listen(0, host, () => {
			const address = server.address();
			const port = typeof address === 'object' && address ? address.port : 0;
			server.close(() => resolve(port));
		});
	});
}

/** True when nothing listens on host:port yet (checked by binding it for a moment). */
export async function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
	return await new Promise((resolve) => {
		const server = createServer();
		server.unref();
		server.once('error', () => resolve(false));
		server.listen(port, host, () => server.close(() => resolve(true)));
	});
}

/**
 * npm exports its own config (ignore-scripts=true from the repo's .npmrc among it) to scripts it
 * runs; a child npm would inherit it and e.g. turn `npm rebuild` into a no-op. Strip all of it.
 * Jest sets NODE_ENV=test, with which n8n 2.41 exits at once (code 1, no output): strip it too.
 */
export function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
	const env: NodeJS.ProcessEnv = {};
	for (const [key, value] of Object.entries(process.env)) {
		if (/^npm_(config|package|lifecycle)_/i.test(key) || key === 'INIT_CWD') continue;
		if (key === 'NODE_ENV' || key.startsWith('JEST_')) continue;
		env[key] = value;
	}
	return { ...env, ...extra };
}

/** Runs a command to completion, output appended to logFile; rejects with the log tail on failure. */
export async function run(
	command: string,
	args: string[],
	options: { cwd: string; env?: NodeJS.ProcessEnv; logFile: string },
): Promise<void> {
	const fd = openSync(options.logFile, 'a');
	try {
		const child = spawn(command, args, {
			cwd: options.cwd,
			env: options.env ?? cleanEnv(),
			stdio: ['ignore', fd, fd],
		});
		trackGroup(child.pid);
		const code = await new Promise<number | null>((resolve, reject) => {
			child.on('error', reject);
			child.on('exit', (exitCode, signal) => resolve(signal ? -1 : exitCode));
		});
		untrackGroup(child.pid);
		if (code !== 0) {
			throw new Error(
				`${command} ${args.join(' ')} failed (exit ${code}) in ${options.cwd}; ` +
					`log ${options.logFile}:\n${tail(options.logFile)}`,
			);
		}
	} finally {
		closeSync(fd);
	}
}

/** Starts a long-running child in its own process group so the whole tree can be signalled. */
export function spawnGroup(
	command: string,
	args: string[],
	options: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): ChildProcess {
	const fd = openSync(options.logFile, 'a');
	const spawnOptions: SpawnOptions = {
		cwd: options.cwd,
		env: options.env,
		stdio: ['ignore', fd, fd],
		detached: true,
	};
	const child = spawn(command, args, spawnOptions);
	closeSync(fd);
	if (!child.pid) throw new Error(`could not start ${command}`);
	trackGroup(child.pid);
	// Detached children must not keep a test runner alive; owners keep a handle to stop them.
	child.unref();
	return child;
}

export function groupAlive(pgid: number): boolean {
	try {
		process.kill(-pgid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
	try {
		process.kill(-pgid, signal);
	} catch {
		// Already gone: nothing to stop.
	}
}

/** SIGTERM the group, wait up to graceMs for every member to exit, then SIGKILL what is left. */
export async function stopGroup(pgid: number, graceMs = 15_000): Promise<'exited' | 'killed'> {
	signalGroup(pgid, 'SIGTERM');
	const deadline = Date.now() + graceMs;
	while (Date.now() < deadline) {
		if (!groupAlive(pgid)) {
			untrackGroup(pgid);
			return 'exited';
		}
		await sleep(100);
	}
	signalGroup(pgid, 'SIGKILL');
	for (let i = 0; i < 50 && groupAlive(pgid); i++) await sleep(100);
	untrackGroup(pgid);
	return 'killed';
}

const tracked = new Set<number>();
let exitHookInstalled = false;

/** Remembers a group to SIGKILL if this process exits without stopping it (no leaked n8n). */
export function trackGroup(pgid: number | undefined): void {
	if (!pgid) return;
	tracked.add(pgid);
	if (exitHookInstalled) return;
	exitHookInstalled = true;
	process.on('exit', () => {
		for (const group of tracked) signalGroup(group, 'SIGKILL');
	});
}

export function untrackGroup(pgid: number | undefined): void {
	if (pgid) tracked.delete(pgid);
}

/**
 * Node exits on SIGINT/SIGTERM without running 'exit' handlers, so test runners opt in to turning
 * those signals into a normal exit. The launcher handles signals itself and does not call this.
 */
export function exitOnSignals(): void {
	const codes = { SIGHUP: 129, SIGINT: 130, SIGTERM: 143 } as const;
	for (const [signal, code] of Object.entries(codes))
		process.once(signal, () => process.exit(code));
}

export function tail(file: string, bytes = 4000): string {
	if (!existsSync(file)) return '(no log)';
	const size = statSync(file).size;
	const fd = openSync(file, 'r');
	try {
		const buffer = Buffer.alloc(Math.min(bytes, size));
		readSync(fd, buffer, 0, buffer.length, Math.max(0, size - buffer.length));
		return buffer.toString('utf8');
	} finally {
		closeSync(fd);
	}
}

/** Polls a URL until it answers 2xx (or `accept` says yes); bounded, with a useful error. */
export async function waitForHttp(
	url: string,
	options: {
		timeoutMs: number;
		headers?: Record<string, string>;
		alive?: () => boolean;
		describe?: () => string;
	},
): Promise<void> {
	const deadline = Date.now() + options.timeoutMs;
	let last = 'no answer yet';
	while (Date.now() < deadline) {
		if (options.alive && !options.alive()) {
			throw new Error(`process exited before ${url} answered\n${options.describe?.() ?? ''}`);
		}
		try {
			const response = await fetch(url, {
				headers: options.headers,
				signal: AbortSignal.timeout(2000),
			});
			if (response.ok) return;
			last = `HTTP ${response.status}: ${(await response.text()).slice(0, 200)}`;
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(300);
	}
	throw new Error(
		`${url} not ready after ${options.timeoutMs} ms (last: ${last})\n${options.describe?.() ?? ''}`,
	);
}
