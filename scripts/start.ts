/**
 * `npm start`: the whole stack on one machine. Redis (embedded unless REDIS_URL), the companion
 * service, and a real n8n with this repo's freshly packed nodes and workflow templates.
 * Ctrl-C or SIGTERM stops n8n, the service and Redis, in that order.
 * Settings (env): REDIS_URL, BG_REDIS_PORT, SERVICE_PORT, API_KEY, KEY_PREFIX, LOG_LEVEL,
 * N8N_PORT, N8N_OWNER_EMAIL, N8N_OWNER_PASSWORD, N8N_LOG_LEVEL, BG_WORKFLOWS_DIR, BG_DATA_DIR.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { RedisPortInUseError, startEmbeddedRedis } from '../service/src/redis/embedded';
import { ensureN8n } from './lib/n8n/install';
import { startN8n } from './lib/n8n/instance';
import { packNodePackage } from './lib/n8n/pack';
import { groupAlive, portFree, tail } from './lib/process';
import { generateApiKey, generatePassword, persistentSecret } from './lib/secrets';
import { REPO_ROOT, startCompanionService } from './lib/service';
import { importWorkflows, type ImportedWorkflow } from './lib/workflows';

const DATA = resolve(REPO_ROOT, process.env.BG_DATA_DIR ?? '.data');
const LOGS = join(DATA, 'logs');
const CREDENTIAL_TYPE = 'batchGuardianApi';
const CREDENTIAL_NAME = 'Batch Guardian (local)';

interface Part {
	name: string;
	pid: number;
	logFile?: string;
	stop(): Promise<void>;
}

/** Started parts in start order; stopped in reverse (n8n calls the service, which needs Redis). */
const parts: Part[] = [];
let stoppingSince = 0;

const log = (message: string) => console.log(`[start] ${message}`);
const envPort = (name: string, fallback: number) => {
	const value = Number(process.env[name] ?? fallback);
	if (!Number.isInteger(value) || value < 1 || value > 65535) {
		throw new Error(`${name} must be a port number (1-65535), got '${process.env[name]}'`);
	}
	return value;
};

async function requireFreePort(port: number, what: string, variable: string) {
	if (!(await portFree(port))) {
		throw new Error(`port ${port} for ${what} is already in use; stop that or set ${variable}`);
	}
}

async function shutdown(reason: string, code: number): Promise<void> {
	if (stoppingSince) {
		// npm and tsx relay a signal sent to the whole group, so one SIGTERM or Ctrl-C can arrive
		// twice at once; only a deliberate second Ctrl-C, a moment later, means "kill now".
		if (reason !== 'SIGINT' || Date.now() - stoppingSince < 1000) return;
		log('second Ctrl-C: killing everything now');
		for (const part of parts) {
			try {
				process.kill(-part.pid, 'SIGKILL');
			} catch {
				// Already gone.
			}
		}
		process.exit(code);
	}
	stoppingSince = Date.now();
	log(`${reason}; stopping (press Ctrl-C again to kill at once)`);
	for (const part of [...parts].reverse()) {
		const started = Date.now();
		await part.stop().catch((error: Error) => log(`stopping ${part.name}: ${error.message}`));
		log(`${part.name} stopped (${Date.now() - started} ms)`);
	}
	process.exit(code);
}

async function startRedis(): Promise<string> {
	if (process.env.REDIS_URL) {
		log(`using Redis at REDIS_URL`);
		return process.env.REDIS_URL;
	}
	const port = envPort('BG_REDIS_PORT', 6390);
	const logFile = join(LOGS, 'redis.log');
	const redis = await startEmbeddedRedis(
		DATA,
		port,
		{ info: () => undefined, warn: (_fields, message) => log(message) },
		{ aof: 'everysec', logFile, reuseIfAnswering: false },
	).catch((error: Error) => {
		if (!(error instanceof RedisPortInUseError)) throw error;
		throw new Error(
			`${error.message}: stop it, choose another port with BG_REDIS_PORT, ` +
				`or use it with REDIS_URL=redis://127.0.0.1:${port}`,
		);
	});
	parts.push({ name: 'redis', pid: redis.pid, logFile, stop: redis.stop });
	log(`embedded Redis on ${redis.url} (AOF in ${redis.dir}, pid ${redis.pid})`);
	return redis.url;
}

async function main(): Promise<void> {
	process.on('SIGINT', () => void shutdown('SIGINT', 130));
	process.on('SIGTERM', () => void shutdown('SIGTERM', 143));
	mkdirSync(LOGS, { recursive: true });
	// One run per log file: a tail after a crash must not show an older run's lines.
	for (const name of ['redis', 'service', 'n8n']) writeFileSync(join(LOGS, `${name}.log`), '');

	const servicePort = envPort('SERVICE_PORT', 3030);
	const n8nPort = envPort('N8N_PORT', 5678);
	await requireFreePort(servicePort, 'the companion service', 'SERVICE_PORT');
	await requireFreePort(n8nPort, 'n8n', 'N8N_PORT');

	const redisUrl = await startRedis();
	const apiKey = persistentSecret(join(DATA, 'api-key'), process.env.API_KEY, generateApiKey);
	const service = await startCompanionService({
		port: servicePort,
		redisUrl,
		apiKey: apiKey.value,
		keyPrefix: process.env.KEY_PREFIX,
		logLevel: process.env.LOG_LEVEL ?? 'info',
		logFile: join(LOGS, 'service.log'),
	});
	parts.push({ name: 'service', pid: service.pid, logFile: service.logFile, stop: service.stop });
	log(`service on ${service.url} (pid ${service.pid})`);

	await ensureN8n(log);
	const packDir = join(DATA, 'pack');
	rmSync(packDir, { recursive: true, force: true });
	log('building and packing the node package...');
	const tarball = await packNodePackage(packDir);
	const owner = {
		email: process.env.N8N_OWNER_EMAIL ?? 'admin@batch-guardian.local',
		password: persistentSecret(
			join(DATA, 'n8n-owner-password'),
			process.env.N8N_OWNER_PASSWORD,
			generatePassword,
		).value,
	};
	log(`starting n8n on port ${n8nPort} (first start migrates its database)...`);
	const n8n = await startN8n({
		port: n8nPort,
		userFolder: join(DATA, 'n8n'),
		packageTarball: tarball,
		owner,
		logFile: join(LOGS, 'n8n.log'),
		env: { N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info' },
		log,
	});
	parts.push({ name: 'n8n', pid: n8n.pid, logFile: n8n.logFile, stop: n8n.stop });

	// Upsert, so a changed API_KEY or SERVICE_PORT reaches the saved credential too.
	const data = { baseUrl: service.url, apiKey: apiKey.value };
	const found = (await n8n.listCredentials()).find(
		(c) => c.name === CREDENTIAL_NAME && c.type === CREDENTIAL_TYPE,
	);
	const credentialInput = { name: CREDENTIAL_NAME, type: CREDENTIAL_TYPE, data };
	const credentialId = found?.id ?? (await n8n.createCredential(credentialInput));
	if (found) await n8n.updateCredential(found.id, credentialInput);

	const workflows = await importWorkflows(
		n8n,
		process.env.BG_WORKFLOWS_DIR ?? join(REPO_ROOT, 'workflows'),
		{ type: CREDENTIAL_TYPE, ref: { id: credentialId, name: CREDENTIAL_NAME } },
		log,
	);
	printSummary({ n8nUrl: n8n.baseUrl, owner, serviceUrl: service.url, apiKey, workflows });
	watchParts();
}

function printSummary(info: {
	n8nUrl: string;
	owner: { email: string; password: string };
	serviceUrl: string;
	apiKey: { source: string };
	workflows: ImportedWorkflow[];
}) {
	const keyWhere =
		info.apiKey.source === 'env'
			? 'from API_KEY'
			: `in ${relative(process.cwd(), join(DATA, 'api-key'))}`;
	const lines = [
		'',
		'Batch Guardian is running.',
		`  n8n editor     ${info.n8nUrl}/`,
		`  n8n login      ${info.owner.email} / ${info.owner.password}`,
		`  service        ${info.serviceUrl}  (API key ${keyWhere}; header x-api-key)`,
		`  credential     '${CREDENTIAL_NAME}' in n8n points at the service`,
		`  logs           ${LOGS}`,
	];
	if (info.workflows.length === 0) lines.push('  workflows      none in workflows/');
	for (const workflow of info.workflows) {
		const state = workflow.active ? 'active' : `NOT active: ${workflow.error ?? 'unknown'}`;
		lines.push(`  workflow       ${workflow.name} (${workflow.file}, ${state})`);
		for (const hook of workflow.webhooks) lines.push(`      ${hook.method.padEnd(6)} ${hook.url}`);
	}
	lines.push('', 'Press Ctrl-C to stop.', '');
	console.log(lines.join('\n'));
}

/** A part that dies on its own takes the stack down with it, with the reason on screen. */
function watchParts(): void {
	setInterval(() => {
		if (stoppingSince) return;
		const dead = parts.find((part) => !groupAlive(part.pid));
		if (!dead) return;
		log(`${dead.name} exited unexpectedly; last log lines:`);
		if (dead.logFile) console.log(tail(dead.logFile, 3000));
		void shutdown(`${dead.name} died`, 1);
	}, 2000);
}

main().catch(async (error: unknown) => {
	console.error(`[start] ${error instanceof Error ? error.message : String(error)}`);
	await shutdown('start failed', 1);
});
