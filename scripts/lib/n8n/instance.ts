import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';

import { N8nApi, type Owner } from './api';
import { ensureN8n } from './install';
import { cleanEnv, freePort, run, sleep, spawnGroup, stopGroup, tail, type Log } from '../process';

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
	logFile?: string;
	owner?: Owner;
	startTimeoutMs?: number;
	log?: Log;
}

export interface N8nInstance extends N8nApi {
	apiKey: string;
	userFolder: string;
	logFile: string;
	pid: number;
	port: number;
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
		...options.env,
	});

	const started = Date.now();
	const child = spawnGroup(nodeBin, [n8nEntry, 'start'], { cwd: userFolder, env, logFile });
	const pid = child.pid as number;
	let exited = false;
	child.once('exit', () => (exited = true));
	const baseUrl = `http://127.0.0.1:${port}`;
	const api = new N8nApi(baseUrl, owner);
	const stop = async () => {
		await stopGroup(pid, 30_000);
		if (ownsFolder && !process.env.BG_KEEP_N8N)
			rmSync(userFolder, { recursive: true, force: true });
	};
	try {
		await waitUntilUp(api, options.startTimeoutMs ?? 120_000, () => !exited, logFile);
		log(`n8n up on ${baseUrl} in ${Date.now() - started} ms (pid ${pid}, log ${logFile})`);
		await api.createApiKey('batch-guardian-harness', API_KEY_SCOPES);
	} catch (error) {
		await stop();
		throw error;
	}
	return Object.assign(api, { userFolder, logFile, pid, port, stop });
}

/** /healthz answers before migrations and the owner exist, so also wait for a working login. */
async function waitUntilUp(api: N8nApi, timeoutMs: number, alive: () => boolean, logFile: string) {
	const deadline = Date.now() + timeoutMs;
	let last = 'no answer yet';
	while (Date.now() < deadline) {
		if (!alive()) throw new Error(`n8n exited during start; log tail:\n${tail(logFile)}`);
		try {
			const ready = await fetch(`${api.baseUrl}/healthz/readiness`, {
				signal: AbortSignal.timeout(2000),
			});
			if (ready.ok) {
				await api.login();
				return;
			}
			last = `readiness HTTP ${ready.status}`;
		} catch (error) {
			last = (error as Error).message;
		}
		await sleep(500);
	}
	throw new Error(`n8n not up after ${timeoutMs} ms (last: ${last}); log tail:\n${tail(logFile)}`);
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
