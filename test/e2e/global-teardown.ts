import { rmSync } from 'node:fs';
import { join } from 'node:path';

import { deletePrefixedKeys } from '../../scripts/lib/redis-keys';
import type { E2eRuntime } from './global-setup';

const log = (message: string) => process.stderr.write(`[e2e] ${message}\n`);

/** Stops what the global setup started (n8n first: it calls the service), then cleans up. */
export async function stopStack(runtime: E2eRuntime): Promise<void> {
	const started = Date.now();
	await runtime.n8n?.stop().catch((error: Error) => log(`stopping n8n: ${error.message}`));
	await runtime.service?.stop().catch((error: Error) => log(`stopping service: ${error.message}`));
	await deletePrefixedKeys(runtime.redisUrl, runtime.keyPrefix).catch((error: Error) =>
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

export default async function globalTeardown(): Promise<void> {
	const runtime = globalThis.__BG_E2E__;
	if (!runtime) return;
	globalThis.__BG_E2E__ = undefined;
	await stopStack(runtime);
}
