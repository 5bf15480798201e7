import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nodemailer from 'nodemailer';

import { N8nApi, type WorkflowJson } from '../../scripts/lib/n8n/api';
import { installPaths } from '../../scripts/lib/n8n/install';
import { API_KEY_SCOPES } from '../../scripts/lib/n8n/instance';
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
import { RECORD_FILE } from '../../scripts/lib/workflows';
import { paste, shootExecutions, shootInbox, waitForInbox, walkthroughCurl } from './walkthrough';

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

/** A copy of workflows/ the restart test ships new template versions into. */
const templates = mkdtempSync(path.join(os.tmpdir(), 'bg-start-workflows-'));
cpSync(path.join(REPO_ROOT, 'workflows'), templates, { recursive: true });
const TEMPLATE_FILES = [
	'batch-intake.json',
	'batch-worker.json',
	'email-campaign-intake.json',
	'email-campaign-status.json',
	'email-campaign-worker.json',
];
const USER_URL = 'https://api.example.test/my-items';
const BUMPED = 'Template version 2';
let first: Started;
const edits = { statusId: '', deletedIntakeId: '' };

interface StoredWorkflow {
	id: string;
	name: string;
	isArchived?: boolean;
	nodes: Array<{ name: string; parameters: Record<string, unknown> }>;
	connections: Record<string, unknown>;
}
const nodeOf = (workflow: StoredWorkflow, name: string) =>
	workflow.nodes.find((node) => node.name === name)!;

async function workflowsByName(n8n: N8nApi): Promise<Map<string, StoredWorkflow>> {
	const list = (await n8n.listWorkflows()) as unknown as StoredWorkflow[];
	return new Map(list.filter((w) => !w.isArchived).map((w) => [w.name, w]));
}

/** A newer template ships: version 2, with a visible change in one node. */
function bumpTemplate(file: string, nodeName: string): void {
	const json = JSON.parse(readFileSync(path.join(templates, file), 'utf8'));
	json.meta = { ...json.meta, templateVersion: 2 };
	const node = json.nodes.find((n: { name: string }) => n.name === nodeName);
	node.parameters.content = `${node.parameters.content ?? ''}\n\n${BUMPED}`;
	writeFileSync(path.join(templates, file), JSON.stringify(json));
}

/** What a user does in the editor between two starts: edit one template, delete another. */
async function editAsAUser(n8n: N8nApi): Promise<void> {
	await n8n.createApiKey('npm-start-e2e', API_KEY_SCOPES);
	const byName = await workflowsByName(n8n);
	const worker = byName.get('Batch Guardian: batch worker')!;
	nodeOf(worker, 'Send Item').parameters.url = USER_URL;
	await n8n.updateWorkflow(worker.id, worker as unknown as WorkflowJson);
	edits.statusId = byName.get('Email campaign: status')!.id;
	edits.deletedIntakeId = byName.get('Email campaign: intake')!.id;
	// n8n 2.x deletes only unpublished workflows, and answers 409 while it is unpublishing.
	await n8n.deactivate(edits.deletedIntakeId);
	for (let attempt = 1; ; attempt++) {
		try {
			await n8n.api('DELETE', `/workflows/${edits.deletedIntakeId}`);
			break;
		} catch (error) {
			if (attempt >= 20 || !/HTTP 409/.test((error as Error).message)) throw error;
			await sleep(500);
		}
	}
}

/**
 * Step 2 of the printed walkthrough, pasted as is: 1,000 e-mails land in the inbox, the intake
 * execution waits in the Executions list meanwhile, and the summary e-mail arrives at the end.
 */
async function followWalkthrough(run: Started, n8n: N8nApi, password: string): Promise<void> {
	const text = run.output();
	const inboxUrl = `http://127.0.0.1:${run.ports.inbox}`;
	expect(text).toContain(`1. Open the inbox: ${inboxUrl}/`);
	const answer = JSON.parse(await paste(walkthroughCurl(text)));
	expect(answer).toMatchObject({ batchId: 'welcome-1', accepted: 1000 });
	const rows = await shootExecutions(
		`http://127.0.0.1:${run.ports.n8n}`,
		{ email: n8n.owner.email, password },
		'email-executions.png',
		'Email campaign: intake',
		(shown) =>
			/Email campaign: intake[\s\S]*Waiting/.test(shown) && /Email campaign: worker/.test(shown),
	);
	expect(rows).toMatch(/Email campaign: intake[\s\S]*Waiting/);
	const summary = 'Campaign welcome-1: completed';
	const mails = await waitForInbox(
		inboxUrl,
		(all) => all.some((mail) => mail.subject === summary),
		240_000,
	);
	const welcome = mails.filter((mail) => mail.subject === 'Welcome');
	expect(welcome).toHaveLength(1000);
	expect(new Set(welcome.map((mail) => mail.to[0].address)).size).toBe(1000);
	expect(mails.find((mail) => mail.subject === summary)?.text).toContain('Delivered: 1000');
	await shootInbox(inboxUrl, 'email-inbox.png', summary);
	const status = /Progress: curl -sS '([^']+)'/.exec(text)?.[1];
	expect(JSON.parse(await paste(`curl -sS '${status}'`))).toMatchObject({
		batchId: 'welcome-1',
		state: 'completed',
		counts: { succeeded: 1000 },
	});
}

/**
 * The direct template as shipped, under `npm start`: the service's transport `local` is the inbox,
 * so a campaign posted to its webhook lands there, each recipient once, sent by the service.
 */
async function sendDirect(run: Started, apiKey: string): Promise<void> {
	const service = `http://127.0.0.1:${run.ports.service}`;
	const transports = (await (
		await fetch(`${service}/v1/transports`, { headers: { 'x-api-key': apiKey } })
	).json()) as { transports: Array<{ name: string; host: string; port: number }> };
	expect(transports.transports).toEqual([
		expect.objectContaining({ name: 'local', host: '127.0.0.1', port: run.ports.smtp }),
	]);
	const to = Array.from({ length: 20 }, (_, n) => `direct-${n}@start.test`);
	const answer = await fetch(`http://127.0.0.1:${run.ports.n8n}/webhook/email-campaign-direct`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({
			campaignId: 'direct-1',
			from: 'news@start.test',
			subject: 'Direct',
			text: 'Sent by the service',
			recipients: to,
		}),
	});
	expect(answer.status).toBe(200);
	expect(await answer.json()).toMatchObject({ batchId: 'direct-1' });
	const inboxUrl = `http://127.0.0.1:${run.ports.inbox}`;
	const mails = await waitForInbox(
		inboxUrl,
		(all) => all.filter((mail) => mail.subject === 'Direct').length >= to.length,
		120_000,
	);
	const direct = mails.filter((mail) => mail.subject === 'Direct');
	expect(direct.map((mail) => mail.to[0].address).sort()).toEqual([...to].sort());
}

/**
 * `npm start` as a newcomer runs it, on its own ports and data folder (a fresh one unless given:
 * a second start on the same one is a restart); resolves once it is up.
 */
async function npmStart(
	extraEnv: NodeJS.ProcessEnv = {},
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'bg-start-')),
): Promise<Started> {
	const logFile = path.join(dataDir, `npm-start-${Date.now()}.log`);
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
		rmSync(templates, { recursive: true, force: true });
	}, 60_000);

	it('brings up Redis, the service, the inbox and n8n with every node, template and credential, then stops on Ctrl-C', async () => {
		const run = await npmStart({ BG_WORKFLOWS_DIR: templates });
		first = run;
		const { ports } = run;
		const text = run.output();
		const login = /n8n login\s+(\S+) \/ (\S+)/.exec(text);
		expect(text).toContain(`n8n editor     http://127.0.0.1:${ports.n8n}/`);
		expect(text).toMatch(new RegExp(`service\\s+http://127\\.0\\.0\\.1:${ports.service}`));
		expect(text).toContain(`inbox          http://127.0.0.1:${ports.inbox}/`);
		expect(login).not.toBeNull();
		for (const file of TEMPLATE_FILES) {
			expect(text).toMatch(
				new RegExp(`workflow\\s+.+\\(${file.replace('.', '\\.')}, active\\) imported`),
			);
		}
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
			'httpHeaderAuth:Batch Guardian dispatch secret',
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

		await followWalkthrough(run, n8n, login![2]);
		await sendDirect(run, apiKey);
		await editAsAUser(n8n);

		expect(await ctrlC(run)).toEqual(['n8n', 'service', 'inbox', 'redis']);
	}, 420_000);

	it('on a restart imports what is missing, updates unchanged older copies and keeps what the user edited', async () => {
		// New versions of two templates ship: one the user edited in n8n, one left as imported.
		bumpTemplate('batch-worker.json', 'Note: what this does');
		bumpTemplate('email-campaign-status.json', 'Note: what this does');
		const run = await npmStart({ BG_WORKFLOWS_DIR: templates }, first.dataDir);
		const text = run.output();
		const outcome = (file: string) =>
			new RegExp(`\\(${file.replace('.', '\\.')}, active\\) (\\w+)`).exec(text)?.[1];
		expect(Object.fromEntries(TEMPLATE_FILES.map((file) => [file, outcome(file)]))).toEqual({
			'batch-intake.json': 'unchanged',
			'batch-worker.json': 'kept',
			'email-campaign-intake.json': 'imported',
			'email-campaign-status.json': 'updated',
			'email-campaign-worker.json': 'unchanged',
		});
		expect(text).toContain(
			"you changed 'Batch Guardian: batch worker' in n8n, so template version 2 was not imported",
		);

		const password = readFileSync(path.join(run.dataDir, 'n8n-owner-password'), 'utf8').trim();
		const n8n = new N8nApi(`http://127.0.0.1:${run.ports.n8n}`, {
			email: 'admin@batch-guardian.local',
			password,
		});
		await n8n.login();
		await n8n.createApiKey('npm-start-e2e', API_KEY_SCOPES);
		const byName = await workflowsByName(n8n);
		// The user's URL survived; the unchanged status workflow got version 2 in place (same id).
		expect(nodeOf(byName.get('Batch Guardian: batch worker')!, 'Send Item').parameters.url).toBe(
			USER_URL,
		);
		const status = byName.get('Email campaign: status')!;
		expect(status.id).toBe(edits.statusId);
		expect(String(nodeOf(status, 'Note: what this does').parameters.content)).toContain(BUMPED);
		expect(byName.get('Email campaign: intake')?.id).not.toBe(edits.deletedIntakeId);
		const record = JSON.parse(readFileSync(path.join(run.dataDir, RECORD_FILE), 'utf8'));
		expect(record.templates['email-campaign-status.json']).toMatchObject({
			workflowId: status.id,
			templateVersion: 2,
		});
		expect(record.templates['batch-worker.json'].templateVersion).toBe(1);

		expect(await ctrlC(run)).toEqual(['n8n', 'service', 'inbox', 'redis']);
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
				'service',
				'inbox',
				'redis',
			]);
			for (const { pid } of pids) expect(groupAlive(pid)).toBe(false);
		} finally {
			await dropDatabase(installPaths().n8nDir, database);
		}
	}, 420_000);
});
