import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { ensureN8n } from '../../scripts/lib/n8n/install';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { packNodePackage } from '../../scripts/lib/n8n/pack';
import { exitOnSignals, freePort } from '../../scripts/lib/process';
import { startCompanionService, type RunningService } from '../../scripts/lib/service';
import { stopStack } from './global-teardown';
import { STACK_ENV, type StackInfo } from './stack';

/** Handles the teardown needs; global setup and teardown run in the same (jest parent) process. */
export interface E2eRuntime {
	runDir: string;
	stackFile: string;
	redisUrl: string;
	keyPrefix: string;
	n8n?: N8nInstance;
	service?: RunningService;
}

declare global {
	var __BG_E2E__: E2eRuntime | undefined;
}

const log = (message: string) => process.stderr.write(`[e2e] ${message}\n`);

/**
 * Starts the whole stack once for all e2e files: the shared Redis (or REDIS_URL), the companion
 * service with a run-unique key prefix, and a real n8n with our freshly packed package installed.
 * BG_E2E_N8N_WORKERS=2 runs that n8n in queue mode (main + workers on the local PostgreSQL).
 */
export default async function globalSetup(): Promise<void> {
	exitOnSignals();
	const runDir = mkdtempSync(join(tmpdir(), 'bg-e2e-'));
	const runtime: E2eRuntime = {
		runDir,
		stackFile: join(runDir, 'stack.json'),
		redisUrl: process.env.REDIS_URL || 'redis://127.0.0.1:6379',
		keyPrefix: `bg-e2e-${randomBytes(4).toString('hex')}`,
	};
	globalThis.__BG_E2E__ = runtime;
	log(`run folder ${runDir} (logs stay there)`);
	try {
		await startStack(runtime);
	} catch (error) {
		// Jest skips global teardown when setup throws; stop what did start before failing.
		globalThis.__BG_E2E__ = undefined;
		await stopStack(runtime);
		throw error;
	}
}

async function startStack(runtime: E2eRuntime): Promise<void> {
	const { runDir, redisUrl, keyPrefix } = runtime;
	const started = Date.now();

	await ensureN8n(log);
	let mark = Date.now();
	const tarball = await packNodePackage(join(runDir, 'pack'));
	log(`built and packed ${tarball} in ${Date.now() - mark} ms`);

	mark = Date.now();
	runtime.service = await startCompanionService({
		port: await freePort(),
		redisUrl,
		apiKey: randomBytes(24).toString('hex'),
		keyPrefix,
		logLevel: process.env.BG_E2E_SERVICE_LOG_LEVEL ?? 'info',
		logFile: join(runDir, 'service.log'),
	});
	log(`service ready on ${runtime.service.url} in ${Date.now() - mark} ms`);

	mark = Date.now();
	const workers = Number(process.env.BG_E2E_N8N_WORKERS || 0);
	runtime.n8n = await startN8n({
		userFolder: join(runDir, 'n8n'),
		packageTarball: tarball,
		logFile: join(runDir, 'n8n.log'),
		env: process.env.BG_E2E_N8N_LOG_LEVEL
			? { N8N_LOG_LEVEL: process.env.BG_E2E_N8N_LOG_LEVEL }
			: {},
		queue: workers > 0 ? { workers, redisUrl } : undefined,
		log,
	});
	log(`n8n ready on ${runtime.n8n.baseUrl} in ${Date.now() - mark} ms`);

	const info: StackInfo = {
		runDir,
		tarball,
		redisUrl,
		n8n: {
			baseUrl: runtime.n8n.baseUrl,
			apiKey: runtime.n8n.apiKey,
			owner: runtime.n8n.owner,
			pid: runtime.n8n.pid,
			userFolder: runtime.n8n.userFolder,
			logFile: runtime.n8n.logFile,
			workers: runtime.n8n.workers.map(({ name, pid, logFile }) => ({ name, pid, logFile })),
		},
		service: {
			url: runtime.service.url,
			apiKey: runtime.service.apiKey,
			keyPrefix,
			pid: runtime.service.pid,
			logFile: runtime.service.logFile,
		},
	};
	writeFileSync(runtime.stackFile, JSON.stringify(info, null, 2), { mode: 0o600 });
	// Workers are forked after global setup, so they inherit this.
	process.env[STACK_ENV] = runtime.stackFile;
	log(`stack up in ${Date.now() - started} ms; description in ${runtime.stackFile}`);
}
