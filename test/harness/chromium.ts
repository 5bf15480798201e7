import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

import { ensureDebianPackage } from './debian';

export const CHROMIUM = '/usr/bin/chromium';

export interface Browser {
	context: BrowserContext;
	close(): Promise<void>;
}

/**
 * Debian's Chromium, headless, driven by playwright-core (which downloads no browser of its own),
 * with a fresh profile per run and no traffic of its own (no sync, updates or QUIC probes).
 */
export async function launchChromium(
	options: { viewport?: { width: number; height: number } } = {},
): Promise<Browser> {
	ensureDebianPackage(CHROMIUM, ['--version'], 'chromium');
	const userDataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-chromium-'));
	const context = await chromium.launchPersistentContext(userDataDir, {
		executablePath: CHROMIUM,
		headless: true,
		viewport: options.viewport ?? { width: 1280, height: 900 },
		args: [
			'--headless',
			'--no-sandbox',
			'--disable-gpu',
			'--disable-quic',
			'--no-first-run',
			'--disable-background-networking',
			'--disable-component-update',
			'--disable-sync',
		],
	});
	return {
		context,
		close: async () => {
			await context.close().catch(() => undefined);
			rmSync(userDataDir, { recursive: true, force: true });
		},
	};
}
