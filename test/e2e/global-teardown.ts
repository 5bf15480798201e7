import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import type { E2eRuntime } from './global-setup';

const log = (message: string) => process.stderr.write(`[e2e] ${message}\n`);

/** Stops what the global setup started (n8n first: it calls the service), then cleans up. */
export async function stopStack(runtime: E2eRuntime): Promise<void> {
	const started = Date.now();
	await runtime.n8n?.stop().catch((error: Error) => log(`stopping n8n: ${error.message}`));
	await runtime.service?.stop().catch((error: Error) => log(`stopping service: ${error.message}`));
	await deleteKeys(runtime.redisUrl, runtime.keyPrefix).catch((error: Error) =>
		log(`cleaning Redis keys: ${error.message}`),
	);
	if (!process.env.BG_KEEP_E2E) {
		// Logs are small and useful after a failure; the n8n database and tarball are not.
		rmSync(join(runtime.runDir, 'n8n'), { recursive: true, force: true });
		rmSync(join(runtime.runDir, 'pack'), { recursive: true, force: true });
	}
	rmSync(runtime.stackFile, { force: true });
	log(`stack stopped in ${Date.now() - started} ms`);
}

/** The shared Redis outlives the run: drop this run's keys (its prefix is unique per run). */
async function deleteKeys(redisUrl: string, prefix: string): Promise<void> {
	const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
}

export default async function globalTeardown(): Promise<void> {
	const runtime = globalThis.__BG_E2E__;
	if (!runtime) return;
	globalThis.__BG_E2E__ = undefined;
	await stopStack(runtime);
}
