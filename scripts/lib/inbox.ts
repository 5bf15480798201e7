/**
 * A local SMTP server with a web inbox (maildev) for `npm start`: what the e-mail templates send
 * lands there instead of in real mailboxes.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

import {
	cleanEnv,
	groupAlive,
	portFree,
	spawnGroup,
	stopGroup,
	tail,
	waitForHttp,
} from './process';
import { REPO_ROOT } from './service';

export interface LocalInbox {
	smtpPort: number;
	webUrl: string;
	pid: number;
	logFile: string;
	stop(): Promise<void>;
}

export async function startLocalInbox(options: {
	smtpPort: number;
	webPort: number;
	mailDir: string;
	logFile: string;
}): Promise<LocalInbox> {
	const bin = join(REPO_ROOT, 'node_modules', '.bin', 'maildev');
	if (!existsSync(bin))
		throw new Error(`maildev missing at ${bin}; run npm install at the repo root`);
	mkdirSync(options.mailDir, { recursive: true });
	const args = ['--smtp', String(options.smtpPort), '--web', String(options.webPort)];
	args.push('--ip', '127.0.0.1', '--web-ip', '127.0.0.1', '--mail-directory', options.mailDir);
	const child = spawnGroup(bin, args, {
		cwd: REPO_ROOT,
		env: cleanEnv(),
		logFile: options.logFile,
	});
	const pid = child.pid as number;
	const webUrl = `http://127.0.0.1:${options.webPort}`;
	const stop = async () => void (await stopGroup(pid, 5_000));
	try {
		await waitForHttp(`${webUrl}/healthz`, {
			timeoutMs: 30_000,
			alive: () => groupAlive(pid),
			describe: () => `maildev log ${options.logFile}:\n${tail(options.logFile)}`,
		});
		if (await portFree(options.smtpPort)) {
			throw new Error(
				`maildev answers on ${webUrl} but its SMTP port ${options.smtpPort} is not open`,
			);
		}
	} catch (error) {
		await stop();
		throw error;
	}
	return { smtpPort: options.smtpPort, webUrl, pid, logFile: options.logFile, stop };
}
