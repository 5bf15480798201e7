import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

import { cleanEnv, freePort, run, type Log } from '../process';
import { N8nApi, type Owner } from './api';
import { ensureN8n } from './install';
import { launchN8nProcess, type N8nProcess } from './process';
import {
	encryptionKeyOf,
	prepareQueueMode,
	processFolder,
	processPorts,
	type QueueModeOptions,
} from './queue';

export const DEFAULT_OWNER: Owner = {
	email: 'owner@batch-guardian.test',
	password: 'BatchGuardian-e2e-1',
};

/** What our tests and the launcher need; API keys in n8n carry only the scopes asked for. */
export const API_KEY_SCOPES = [
	'workflow:create',
	'workflow:read',
	'workflow:list',
	'workflow:update',
	'workflow:delete',
	'workflow:activate',
	'workflow:deactivate',
	'execution:read',
	'execution:list',
	'credential:create',
	'credential:list',
	'credential:read',
	'credential:update',
	'credential:delete',
];

export interface StartN8nOptions {
	port?: number;
	/** Folder that gets the `.n8n` data folder; a fresh temp folder (removed on stop) if omitted. */
	userFolder?: string;
	/** `npm pack` output of a community package to install into `<userFolder>/.n8n/nodes`. */
	packageTarball?: string;
	env?: NodeJS.ProcessEnv;
	/** The main process's log; workers and webhook processors log beside it (`n8n-worker-1.log`). */
	logFile?: string;
	owner?: Owner;
	startTimeoutMs?: number;
	log?: Log;
	/** Run in queue mode: main plus workers (and webhook processors) on PostgreSQL and Redis. */
	queue?: QueueModeOptions;
}

export interface N8nInstance extends N8nApi {
	apiKey: string;
	userFolder: string;
	logFile: string;
	/** The main process's pid at start; `main.pid` follows restarts. */
	pid: number;
	port: number;
	main: N8nProcess;
	/** Empty unless started in queue mode. */
	workers: N8nProcess[];
	webhookProcessors: N8nProcess[];
	/** Queue mode: n8n's database and Redis key prefix. */
	queue?: { database: string; prefix: string };
	/** Stops every process: webhook processors, main, then workers (they finish what they run). */
	stop(): Promise<void>;
}

export async function startN8n(options: StartN8nOptions = {}): Promise<N8nInstance> {
	const log = options.log ?? (() => undefined);
	const { nodeBin, n8nEntry, n8nDir } = await ensureN8n(log);
	const ownsFolder = !options.userFolder;
	const userFolder = resolve(options.userFolder ?? mkdtempSync(join(tmpdir(), 'bg-n8n-')));
	mkdirSync(userFolder, { recursive: true });
	const logFile = options.logFile ?? join(userFolder, 'n8n.log');
	const owner = options.owner ?? DEFAULT_OWNER;
	if (options.packageTarball) {
		const started = Date.now();
		await installCommunityPackage(userFolder, options.packageTarball);
		log(`installed ${options.packageTarball} into n8n in ${Date.now() - started} ms`);
	}
	const port = options.port ?? (await freePort());
	const encryptionKey = encryptionKeyOf(userFolder, options.env?.N8N_ENCRYPTION_KEY);
	const queue = options.queue && (await prepareQueueMode(options.queue, n8nDir, encryptionKey));
	const env = cleanEnv({
		// Task runners are always on in n8n 2.x and spawned with Node 24 via PATH/execPath.
		PATH: `${dirname(nodeBin)}${delimiter}${process.env.PATH ?? ''}`,
		N8N_USER_FOLDER: userFolder,
		N8N_PORT: String(port),
		N8N_LISTEN_ADDRESS: '127.0.0.1',
		// The JS task runner broker defaults to 5679: a second n8n on the box would collide.
		N8N_RUNNERS_BROKER_PORT: String(await freePort()),
		N8N_DIAGNOSTICS_ENABLED: 'false',
		N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
		N8N_PERSONALIZATION_ENABLED: 'false',
		N8N_TEMPLATES_ENABLED: 'false',
		N8N_HIRING_BANNER_ENABLED: 'false',
		N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
		// Plain http on localhost: a Secure cookie would lock the editor out on 127.0.0.1.
		N8N_SECURE_COOKIE: 'false',
		N8N_INSTANCE_OWNER_MANAGED_BY_ENV: 'true',
		N8N_INSTANCE_OWNER_EMAIL: owner.email,
		N8N_INSTANCE_OWNER_PASSWORD_HASH: bcryptHash(n8nDir, owner.password),
		N8N_INSTANCE_OWNER_FIRST_NAME: 'Batch',
		N8N_INSTANCE_OWNER_LAST_NAME: 'Guardian',
		N8N_LOG_LEVEL: 'warn',
		EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'all',
		EXECUTIONS_DATA_SAVE_ON_ERROR: 'all',
		// n8n pings its database every 2 s and, when one 'SELECT 1' takes over 5 s, answers every
		// webhook 503 'Database is not ready!' until a ping succeeds. On a 2-core machine running
		// thousands of executions, SQLite's queue passes 5 s without anything being wrong.
		DB_PING_TIMEOUT_MS: '30000',
		N8N_ENCRYPTION_KEY: encryptionKey,
		...queue?.env,
		...options.env,
	});

	const started = Date.now();
	const baseUrl = `http://127.0.0.1:${port}`;
	const api = new N8nApi(baseUrl, owner);
	const base = { nodeBin, n8nEntry, timeoutMs: options.startTimeoutMs ?? 120_000 };
	const workers: N8nProcess[] = [];
	const webhookProcessors: N8nProcess[] = [];
	let main: N8nProcess | undefined;
	const stop = async () => {
		await Promise.all(webhookProcessors.map((p) => p.stop()));
		await main?.stop();
		await Promise.all(workers.map((p) => p.stop()));
		await queue?.cleanup().catch((error: Error) => log(`queue-mode cleanup: ${error.message}`));
		if (ownsFolder && !process.env.BG_KEEP_N8N) {
			rmSync(userFolder, { recursive: true, force: true });
		}
	};
	try {
		main = await launchN8nProcess({
			...base,
			role: 'main',
			name: 'main',
			userFolder,
			env,
			logFile,
			port,
			readyUrl: `${baseUrl}/healthz/readiness`,
			// /healthz answers before migrations and the owner exist: also wait for a working login.
			ready: () => api.login(),
		});
		log(`n8n up on ${baseUrl} in ${Date.now() - started} ms (pid ${main.pid}, log ${logFile})`);
		await api.createApiKey('batch-guardian-harness', API_KEY_SCOPES);
		if (options.queue) {
			const helpers = await startHelpers(options.queue, { ...base, userFolder, env, logFile });
			workers.push(...helpers.filter((p) => p.role === 'worker'));
			webhookProcessors.push(...helpers.filter((p) => p.role === 'webhook'));
			const names = helpers.map((p) => `${p.name} (pid ${p.pid})`).join(', ');
			log(`queue mode: ${names} ready ${Date.now() - started} ms after start`);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	return Object.assign(api, {
		userFolder,
		logFile,
		pid: main.pid,
		port,
		main,
		workers,
		webhookProcessors,
		queue: queue && { database: queue.database, prefix: queue.prefix },
		stop,
	});
}

type HelperBase = {
	nodeBin: string;
	n8nEntry: string;
	timeoutMs: number;
	userFolder: string;
	env: NodeJS.ProcessEnv;
	logFile: string;
};

/**
 * Workers and webhook processors, started side by side once main has migrated the database (each
 * takes ~10 s to load its nodes). If one fails, the others are stopped before the error is thrown.
 */
async function startHelpers(queue: QueueModeOptions, base: HelperBase): Promise<N8nProcess[]> {
	const count = (n: number | undefined) => Array.from({ length: n ?? 0 }, (_, i) => i + 1);
	const results = await Promise.allSettled([
		...count(queue.workers).map((i) => startHelper('worker', i, base, queue)),
		...count(queue.webhookProcessors).map((i) => startHelper('webhook', i, base, queue)),
	]);
	const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
	const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
	if (failed) {
		await Promise.all(started.map((p) => p.stop()));
		throw failed.reason;
	}
	return started;
}

/** A worker or webhook processor: its own folder, ports and log, the deployment's env. */
async function startHelper(
	role: 'worker' | 'webhook',
	index: number,
	base: HelperBase,
	queue: QueueModeOptions,
): Promise<N8nProcess> {
	const name = `${role}-${index}`;
	const ports = await processPorts();
	const encryptionKey = base.env.N8N_ENCRYPTION_KEY as string;
	const userFolder = processFolder(base.userFolder, name, encryptionKey);
	const env: NodeJS.ProcessEnv = {
		...base.env,
		N8N_USER_FOLDER: userFolder,
		N8N_RUNNERS_BROKER_PORT: String(ports.broker),
		...(role === 'worker'
			? {
					QUEUE_HEALTH_CHECK_ACTIVE: 'true',
					QUEUE_HEALTH_CHECK_PORT: String(ports.http),
					N8N_WORKER_SERVER_ADDRESS: '127.0.0.1',
					N8N_LOG_LEVEL: queue.workerLogLevel ?? 'info',
				}
			: { N8N_PORT: String(ports.http) }),
	};
	return await launchN8nProcess({
		...base,
		role,
		name,
		userFolder,
		env,
		logFile: base.logFile.replace(/(\.log)?$/, `-${name}.log`),
		port: ports.http,
		args: role === 'worker' && queue.concurrency ? [`--concurrency=${queue.concurrency}`] : [],
		readyUrl: `http://127.0.0.1:${ports.http}/healthz/readiness`,
	});
}

/** n8n checks the owner's password against this hash; use its own bcryptjs so formats match. */
function bcryptHash(n8nDir: string, password: string): string {
	const load = createRequire(join(n8nDir, 'package.json'));
	const bcrypt = load('bcryptjs') as { hashSync(data: string, rounds: number): string };
	return bcrypt.hashSync(password, 10);
}

/**
 * Installs a packed community package the way n8n itself does: into `.n8n/nodes`, with
 * --legacy-peer-deps so npm does not add a second n8n-workflow next to n8n's own. The previous
 * copy is removed first because a re-packed tarball of the same version would be kept otherwise.
 */
export async function installCommunityPackage(userFolder: string, tarball: string): Promise<void> {
	const nodesDir = join(userFolder, '.n8n', 'nodes');
	mkdirSync(nodesDir, { recursive: true });
	const manifestPath = join(nodesDir, 'package.json');
	const manifest: { dependencies?: Record<string, string> } = existsSync(manifestPath)
		? JSON.parse(readFileSync(manifestPath, 'utf8'))
		: { name: 'installed-nodes', private: true, dependencies: {} };
	const name = packageName(tarball);
	delete manifest.dependencies?.[name];
	writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
	rmSync(join(nodesDir, 'node_modules', name), { recursive: true, force: true });
	rmSync(join(nodesDir, 'package-lock.json'), { force: true });
	await run(
		'npm',
		[
			'install',
			'--legacy-peer-deps',
			'--ignore-scripts',
			'--no-audit',
			'--no-fund',
			resolve(tarball),
		],
		{ cwd: nodesDir, logFile: join(nodesDir, 'npm-install.log') },
	);
	if (!existsSync(join(nodesDir, 'node_modules', name, 'package.json'))) {
		throw new Error(`${name} missing in ${nodesDir}/node_modules after npm install`);
	}
}

function packageName(tarball: string): string {
	const raw = execFileSync('tar', ['-xzOf', tarball, 'package/package.json'], { encoding: 'utf8' });
	return (JSON.parse(raw) as { name: string }).name;
}
