import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';

import { N8nApi } from '../../scripts/lib/n8n/api';
import { installPaths } from '../../scripts/lib/n8n/install';
import { dropDatabase } from '../../scripts/lib/n8n/postgres';
import {
	cleanEnv,
	freePort,
	groupAlive,
	portFree,
	sleep,
	spawnGroup,
	stopGroup,
	tail,
} from '../../scripts/lib/process';

const REPO_ROOT = path.resolve(__dirname, '../..');
const NODE_TYPES = ['batchStatus', 'checkpoint', 'rateLimit', 'splitIntoChunks'].map(
	(name) => `n8n-nodes-batch-guardian.${name}`,
);

interface Started {
	pgid: number;
	logFile: string;
	dataDir: string;
	ports: Record<'n8n' | 'service' | 'redis' | 'smtp' | 'inbox', number>;
	output(): string;
}

const runs: Started[] = [];

/** `npm start` as a newcomer runs it, on its own ports and data folder; resolves once it is up. */
async function npmStart(extraEnv: NodeJS.ProcessEnv = {}): Promise<Started> {
	const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-start-'));
	const logFile = path.join(dataDir, 'npm-start.log');
	const ports = {
		n8n: await freePort(),
		service: await freePort(),
		redis: await freePort(),
		smtp: await freePort(),
		inbox: await freePort(),
	};
	const child = spawnGroup('npm', ['start'], {
		cwd: REPO_ROOT,
		logFile,
		env: cleanEnv({
			BG_DATA_DIR: dataDir,
			N8N_PORT: String(ports.n8n),
			SERVICE_PORT: String(ports.service),
			BG_REDIS_PORT: String(ports.redis),
			BG_SMTP_PORT: String(ports.smtp),
			BG_INBOX_PORT: String(ports.inbox),
			REDIS_URL: '',
			N8N_LOG_LEVEL: 'warn',
			LOG_LEVEL: 'warn',
			...extraEnv,
		}),
	});
	const run: Started = {
		pgid: child.pid ?? 0,
		logFile,
		dataDir,
		ports,
		output: () => readFileSync(logFile, 'utf8'),
	};
	runs.push(run);
	const deadline = Date.now() + 300_000;
	while (!run.output().includes('Batch Guardian is running.')) {
		if (!groupAlive(run.pgid) || Date.now() > deadline) {
			throw new Error(`npm start did not come up; its output:\n${tail(logFile, 6000)}`);
		}
		await sleep(500);
	}
	return run;
}

/** Ctrl-C in a terminal signals the whole foreground group; answers the parts in stop order. */
async function ctrlC(run: Started): Promise<string[]> {
	process.kill(-run.pgid, 'SIGINT');
	const stopBy = Date.now() + 90_000;
	while (groupAlive(run.pgid) && Date.now() < stopBy) await sleep(200);
	expect(groupAlive(run.pgid)).toBe(false);
	for (const port of Object.values(run.ports)) expect(await portFree(port)).toBe(true);
	return run
		.output()
		.split('\n')
		.map((line) => /\[start\] ([\w-]+) stopped/.exec(line)?.[1])
		.filter((name): name is string => Boolean(name));
}

describe('npm start', () => {
	afterAll(async () => {
		for (const run of runs) {
			if (run.pgid && groupAlive(run.pgid)) await stopGroup(run.pgid, 5_000);
			rmSync(run.dataDir, { recursive: true, force: true });
		}
	});

	it('brings up Redis, the service, the inbox and n8n with every node, template and credential, then stops on Ctrl-C', async () => {
		const run = await npmStart();
		const { ports } = run;
		const text = run.output();
		const login = /n8n login\s+(\S+) \/ (\S+)/.exec(text);
		expect(text).toContain(`n8n editor     http://127.0.0.1:${ports.n8n}/`);
		expect(text).toMatch(new RegExp(`service\\s+http://127\\.0\\.0\\.1:${ports.service}`));
		expect(text).toContain(`inbox          http://127.0.0.1:${ports.inbox}/`);
		expect(login).not.toBeNull();
		expect(text).toMatch(/workflow\s+.+\(batch-intake\.json, active\)/);
		expect(text).toMatch(/workflow\s+.+\(batch-worker\.json, active\)/);
		expect(text).toMatch(/POST\s+http:\/\/127\.0\.0\.1:\d+\/webhook\//);

		const apiKey = readFileSync(path.join(run.dataDir, 'api-key'), 'utf8').trim();
		const ready = await fetch(`http://127.0.0.1:${ports.service}/ready`, {
			headers: { 'x-api-key': apiKey },
		});
		expect(ready.status).toBe(200);
		expect(await ready.json()).toMatchObject({ status: 'ready', redis: 'up' });

		const n8n = new N8nApi(`http://127.0.0.1:${ports.n8n}`, {
			email: login![1],
			password: login![2],
		});
		await n8n.login();
		expect(await n8n.nodeTypes()).toEqual(expect.arrayContaining(NODE_TYPES));
		// This client holds a login session, no API key: ask the editor's REST API.
		const credentials = await n8n.rest<Array<{ name: string; type: string }>>(
			'GET',
			'/credentials',
		);
		expect(credentials.map((c) => `${c.type}:${c.name}`).sort()).toEqual([
			'batchGuardianApi:Batch Guardian (local)',
			'postgres:Local PostgreSQL',
			'smtp:Local SMTP (maildev)',
		]);

		// What a template sends lands in the inbox a user opens in the browser.
		await nodemailer
			.createTransport({ host: '127.0.0.1', port: ports.smtp, secure: false, ignoreTLS: true })
			.sendMail({ from: 'a@start.test', to: 'b@start.test', subject: 'inbox check', text: 'hi' });
		const inbox = (await (await fetch(`http://127.0.0.1:${ports.inbox}/email`)).json()) as Array<{
			subject: string;
		}>;
		expect(inbox.map((mail) => mail.subject)).toEqual(['inbox check']);

		expect(await ctrlC(run)).toEqual(['n8n', 'inbox', 'service', 'redis']);
	}, 420_000);

	it('N8N_WORKERS=2 N8N_WEBHOOK_PROCESSORS=1 runs n8n in queue mode on PostgreSQL and stops every process', async () => {
		const database = `bg_n8n_start_${randomBytes(4).toString('hex')}`;
		try {
			const run = await npmStart({
				N8N_WORKERS: '2',
				N8N_WEBHOOK_PROCESSORS: '1',
				BG_N8N_DATABASE: database,
			});
			const text = run.output();
			expect(text).toContain(`on PostgreSQL database ${database}, Redis prefix bg-n8n`);
			const pids = [...text.matchAll(/n8n (worker-\d|webhook-\d)\s+pid (\d+)/g)].map((m) => ({
				name: m[1],
				pid: Number(m[2]),
			}));
			expect(pids.map((p) => p.name)).toEqual(['worker-1', 'worker-2', 'webhook-1']);
			for (const { pid } of pids) expect(groupAlive(pid)).toBe(true);
			const hook = /webhook-1\s+pid \d+, webhooks at (http:\/\/127\.0\.0\.1:\d+)\/webhook/.exec(
				text,
			);
			const processor = await fetch(`${hook![1]}/healthz/readiness`);
			expect(processor.status).toBe(200);

			expect(await ctrlC(run)).toEqual([
				'n8n-webhook-1',
				'n8n-worker-2',
				'n8n-worker-1',
				'n8n',
				'inbox',
				'service',
				'redis',
			]);
			for (const { pid } of pids) expect(groupAlive(pid)).toBe(false);
		} finally {
			await dropDatabase(installPaths().n8nDir, database);
		}
	}, 420_000);
});
