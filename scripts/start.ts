/**
 * `npm start`: the whole stack on one machine. Redis (embedded unless REDIS_URL), the companion
 * service, a local SMTP inbox (maildev), and a real n8n with this repo's freshly packed nodes and
 * workflow templates; with N8N_WORKERS, n8n in queue mode (main + workers on PostgreSQL).
 * Ctrl-C or SIGTERM stops n8n, the inbox, the service and Redis, in that order.
 * Settings (env): REDIS_URL, BG_REDIS_PORT, SERVICE_PORT, API_KEY, DISPATCH_SECRET, KEY_PREFIX, LOG_LEVEL,
 * N8N_PORT, N8N_OWNER_EMAIL, N8N_OWNER_PASSWORD, N8N_LOG_LEVEL, BG_WORKFLOWS_DIR, BG_DATA_DIR,
 * BG_SMTP_PORT, BG_INBOX_PORT, N8N_WORKERS, N8N_WEBHOOK_PROCESSORS, BG_N8N_DATABASE, BG_PG_DATABASE.
 */
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

import { RedisPortInUseError, startEmbeddedRedis } from '../service/src/redis/embedded';
import { ensureN8n } from './lib/n8n/install';
import { SECRET_HEADER } from '../nodes/shared/contract';
import { upsertLocalCredentials, type LocalCredential } from './lib/credentials';
import { startLocalInbox, type LocalInbox } from './lib/inbox';
import { startN8n, type N8nInstance } from './lib/n8n/instance';
import { packNodePackage } from './lib/n8n/pack';
import type { QueueModeOptions } from './lib/n8n/queue';
import { freePort, groupAlive, portFree, tail } from './lib/process';
import { generateApiKey, generatePassword, persistentSecret } from './lib/secrets';
import { REPO_ROOT, startCompanionService } from './lib/service';
import { importWorkflows, type ImportedWorkflow } from './lib/workflows';
import { walkthrough } from './lib/walkthrough';

const DATA = resolve(REPO_ROOT, process.env.BG_DATA_DIR ?? '.data');
/** The worker template's Header Auth: the secret the service sends with every chunk. */
const DISPATCH_SECRET_CREDENTIAL = {
	type: 'httpHeaderAuth',
	name: 'Batch Guardian dispatch secret',
};
const LOGS = join(DATA, 'logs');

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

/** A port the user chose must be free; an unset one falls back from its default to any free one. */
async function choosePort(variable: string, fallback: number, what: string): Promise<number> {
	if (process.env[variable]) {
		const port = envPort(variable, fallback);
		await requireFreePort(port, what, variable);
		return port;
	}
	return (await portFree(fallback)) ? fallback : await freePort();
}

const envCount = (name: string) => {
	const value = Number(process.env[name] || 0);
	if (!Number.isInteger(value) || value < 0 || value > 16) {
		throw new Error(`${name} must be a whole number from 0 to 16, got '${process.env[name]}'`);
	}
	return value;
};

/** N8N_WORKERS=2 (and N8N_WEBHOOK_PROCESSORS=1): n8n's queue mode, kept in a database of its own. */
function queueFromEnv(redisUrl: string): QueueModeOptions | undefined {
	const workers = envCount('N8N_WORKERS');
	const webhookProcessors = envCount('N8N_WEBHOOK_PROCESSORS');
	if (workers === 0) {
		if (webhookProcessors) throw new Error('N8N_WEBHOOK_PROCESSORS needs N8N_WORKERS (queue mode)');
		return undefined;
	}
	const database = process.env.BG_N8N_DATABASE ?? 'bg_n8n';
	return { workers, webhookProcessors, redisUrl, prefix: 'bg-n8n', postgres: { database } };
}

async function startInbox(): Promise<LocalInbox> {
	const inbox = await startLocalInbox({
		smtpPort: await choosePort('BG_SMTP_PORT', 1025, 'the SMTP inbox'),
		webPort: await choosePort('BG_INBOX_PORT', 1080, 'the inbox web page'),
		mailDir: join(DATA, 'maildev'),
		logFile: join(LOGS, 'inbox.log'),
	});
	parts.push({ name: 'inbox', pid: inbox.pid, logFile: inbox.logFile, stop: inbox.stop });
	log(`inbox on ${inbox.webUrl} (SMTP 127.0.0.1:${inbox.smtpPort}, pid ${inbox.pid})`);
	return inbox;
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
	for (const name of readdirSync(LOGS)) {
		if (name.endsWith('.log')) writeFileSync(join(LOGS, name), '');
	}

	const servicePort = envPort('SERVICE_PORT', 3030);
	const n8nPort = envPort('N8N_PORT', 5678);
	await requireFreePort(servicePort, 'the companion service', 'SERVICE_PORT');
	await requireFreePort(n8nPort, 'n8n', 'N8N_PORT');

	const redisUrl = await startRedis();
	const apiKey = persistentSecret(join(DATA, 'api-key'), process.env.API_KEY, generateApiKey);
	// Sent with every chunk POST; the e-mail worker template checks it with Header Auth.
	const dispatchSecret = persistentSecret(
		join(DATA, 'dispatch-secret'),
		process.env.DISPATCH_SECRET,
		generateApiKey,
	);
	// The inbox first: the service's SMTP transport `local` (direct delivery) points at it.
	const inbox = await startInbox();
	const service = await startCompanionService({
		port: servicePort,
		redisUrl,
		apiKey: apiKey.value,
		keyPrefix: process.env.KEY_PREFIX,
		logLevel: process.env.LOG_LEVEL ?? 'info',
		logFile: join(LOGS, 'service.log'),
		env: {
			DISPATCH_SECRET: dispatchSecret.value,
			// The user's own SMTP_TRANSPORT_LOCAL (a real relay) wins; cleanEnv passes it through.
			SMTP_TRANSPORT_LOCAL:
				process.env.SMTP_TRANSPORT_LOCAL ??
				`smtp://127.0.0.1:${inbox.smtpPort}?ignoreTLS=true&pool=20`,
		},
	});
	parts.push({ name: 'service', pid: service.pid, logFile: service.logFile, stop: service.stop });
	log(`service on ${service.url} (pid ${service.pid})`);

	const { n8nDir } = await ensureN8n(log);
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
	const queue = queueFromEnv(redisUrl);
	const mode = queue ? `queue mode, ${queue.workers} worker(s)` : 'one process';
	log(`starting n8n on port ${n8nPort}, ${mode} (first start migrates its database)...`);
	const n8n = await startN8n({
		port: n8nPort,
		userFolder: join(DATA, 'n8n'),
		packageTarball: tarball,
		owner,
		logFile: join(LOGS, 'n8n.log'),
		env: { N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info' },
		queue,
		log,
	});
	// Stopped in reverse: webhook processors and workers first; n8n.stop() then stops what is left.
	parts.push({ name: 'n8n', pid: n8n.pid, logFile: n8n.logFile, stop: n8n.stop });
	for (const helper of [...n8n.workers, ...n8n.webhookProcessors]) {
		const name = `n8n-${helper.name}`;
		parts.push({ name, pid: helper.pid, logFile: helper.logFile, stop: helper.stop });
	}

	const credentials = await upsertLocalCredentials(n8n, {
		service: { url: service.url, apiKey: apiKey.value },
		smtp: { host: '127.0.0.1', port: inbox.smtpPort },
		n8nDir,
		postgresDatabase: process.env.BG_PG_DATABASE ?? 'postgres',
	});
	const secretCredential = {
		...DISPATCH_SECRET_CREDENTIAL,
		id: await n8n.upsertCredential({
			...DISPATCH_SECRET_CREDENTIAL,
			data: { name: SECRET_HEADER, value: dispatchSecret.value },
		}),
		target: `header ${SECRET_HEADER} = the service's DISPATCH_SECRET`,
	};
	credentials.push(secretCredential);
	const workflows = await importWorkflows(
		n8n,
		process.env.BG_WORKFLOWS_DIR ?? join(REPO_ROOT, 'workflows'),
		DATA,
		log,
	);
	printSummary({ n8n, owner, serviceUrl: service.url, apiKey, inbox, credentials, workflows });
	watchParts();
}

function printSummary(info: {
	n8n: N8nInstance;
	owner: { email: string; password: string };
	serviceUrl: string;
	apiKey: { source: string };
	inbox: LocalInbox;
	credentials: LocalCredential[];
	workflows: ImportedWorkflow[];
}) {
	const keyWhere =
		info.apiKey.source === 'env'
			? 'from API_KEY'
			: `in ${relative(process.cwd(), join(DATA, 'api-key'))}`;
	const lines = [
		'',
		'Batch Guardian is running.',
		`  n8n editor     ${info.n8n.baseUrl}/`,
		`  n8n login      ${info.owner.email} / ${info.owner.password}`,
		...queueLines(info.n8n),
		`  service        ${info.serviceUrl}  (API key ${keyWhere}; header x-api-key)`,
		`  inbox          ${info.inbox.webUrl}/  (SMTP 127.0.0.1:${info.inbox.smtpPort})`,
		...info.credentials.map((c) => `  credential     '${c.name}' in n8n -> ${c.target}`),
		`  logs           ${LOGS}`,
	];
	if (info.workflows.length === 0) lines.push('  workflows      none in workflows/');
	for (const workflow of info.workflows) {
		const state = workflow.active
			? 'active'
			: `NOT active${workflow.error ? `: ${workflow.error}` : ''}`;
		lines.push(
			`  workflow       ${workflow.name} (${workflow.file}, ${state}) ${workflow.outcome}`,
		);
		for (const hook of workflow.webhooks) lines.push(`      ${hook.method.padEnd(6)} ${hook.url}`);
	}
	lines.push(...walkthrough(info.workflows, info.inbox.webUrl), '', 'Press Ctrl-C to stop.', '');
	console.log(lines.join('\n'));
}

function queueLines(n8n: N8nInstance): string[] {
	if (!n8n.queue) return [];
	const helpers = [...n8n.workers, ...n8n.webhookProcessors];
	return [
		`  n8n mode       queue: main (pid ${n8n.main.pid}) + ${helpers.length} process(es) on ` +
			`PostgreSQL database ${n8n.queue.database}, Redis prefix ${n8n.queue.prefix}`,
		...helpers.map((p) =>
			p.role === 'worker'
				? `  n8n ${p.name.padEnd(10)} pid ${p.pid}, log ${p.logFile}`
				: `  n8n ${p.name.padEnd(10)} pid ${p.pid}, webhooks at http://127.0.0.1:${p.port}/webhook/...`,
		),
	];
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
