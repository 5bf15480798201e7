import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { WorkflowJson } from '../../scripts/lib/n8n/api';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { sleep } from '../../scripts/lib/process';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { getStack, unique, webhookChain } from './helpers';

/** Execution ids a process's log says it ran (workers log each one they start, at info). */
const ranBy = (logFile: string) =>
	new Set(
		[...readFileSync(logFile, 'utf8').matchAll(/Worker started execution (\d+)/g)].map((m) => m[1]),
	);

/**
 * Ids of a workflow's successful webhook executions, once `count` of them are saved (or 30 s have
 * passed): a worker saves the outcome a moment after Respond to Webhook has answered.
 */
async function succeededExecutions(n8n: N8nInstance, workflowId: string, count: number) {
	let ids: string[] = [];
	for (const deadline = Date.now() + 30_000; ids.length < count && Date.now() < deadline;) {
		const executions = await n8n.listExecutions({ workflowId, limit: 50 });
		ids = executions.filter((e) => e.status === 'success' && e.mode === 'webhook').map((e) => e.id);
		if (ids.length < count) await sleep(250);
	}
	return ids;
}

/** Webhook -> Set -> Respond to Webhook, answering with the execution's id. */
function setAndRespond(path: string): WorkflowJson {
	const workflow = webhookChain(unique('queue-set-respond'), path, [
		{
			name: 'Set',
			type: 'n8n-nodes-base.set',
			typeVersion: 3.4,
			parameters: {
				mode: 'manual',
				assignments: {
					assignments: [
						{ id: randomUUID(), name: 'n', value: '={{ $json.body.n }}', type: 'number' },
					],
				},
				options: {},
			},
		},
		{
			name: 'Respond',
			type: 'n8n-nodes-base.respondToWebhook',
			typeVersion: 1.1,
			parameters: {
				respondWith: 'json',
				responseBody: '={{ { "n": $json.n, "executionId": $execution.id } }}',
				options: {},
			},
		},
	]);
	const webhook = workflow.nodes[0] as { parameters: Record<string, unknown> };
	webhook.parameters.responseMode = 'responseNode';
	return workflow;
}

/**
 * n8n in queue mode, its own deployment beside the shared e2e one: main, two workers and a webhook
 * processor on the local PostgreSQL and the run's Redis, each process with our package installed.
 */
describe('n8n queue mode (main + 2 workers + webhook processor)', () => {
	let n8n: N8nInstance;
	let sink: SmtpSink;

	beforeAll(async () => {
		const stack = getStack();
		sink = await startSmtpSink();
		n8n = await startN8n({
			logFile: join(stack.runDir, 'n8n-queue.log'),
			packageTarball: stack.tarball,
			queue: { workers: 2, webhookProcessors: 1, redisUrl: stack.redisUrl },
			log: (message) => process.stderr.write(`[queue-mode] ${message}\n`),
		});
	}, 240_000);

	afterAll(async () => {
		await n8n?.stop();
		await sink?.close();
	}, 120_000);

	it('runs 20 webhook executions on the workers, none on main, through main and the webhook processor', async () => {
		const path = unique('queue-hook');
		const workflowId = await n8n.createAndActivate(setAndRespond(path));
		const processor = n8n.webhookProcessors[0];
		const urls = [n8n.webhookUrl(path), `http://127.0.0.1:${processor.port}/webhook/${path}`];
		const answers = await Promise.all(
			Array.from({ length: 20 }, async (_, n) => {
				const response = await fetch(urls[n % 2], {
					method: 'POST',
					headers: { 'content-type': 'application/json' },
					body: JSON.stringify({ n }),
					signal: AbortSignal.timeout(60_000),
				});
				return {
					status: response.status,
					body: (await response.json()) as { n: number; executionId: string },
				};
			}),
		);
		expect(answers.map((a) => a.status)).toEqual(Array(20).fill(200));
		expect(answers.map((a) => a.body.n)).toEqual(Array.from({ length: 20 }, (_, n) => n));
		const ids = answers.map((a) => String(a.body.executionId));
		expect(new Set(ids).size).toBe(20);

		const succeeded = await succeededExecutions(n8n, workflowId, 20);
		expect(succeeded.sort()).toEqual([...ids].sort());

		// n8n records no worker id on an execution; each worker logs the ones it started.
		const [first, second] = n8n.workers.map((worker) => ranBy(worker.logFile));
		const onWorkers = ids.filter((id) => first.has(id) || second.has(id));
		console.log(
			`worker-1 ran ${ids.filter((id) => first.has(id)).length}, worker-2 ${ids.filter((id) => second.has(id)).length} of 20`,
		);
		expect(onWorkers).toEqual(ids);
		expect(ids.filter((id) => first.has(id) && second.has(id))).toEqual([]);
		expect(readFileSync(n8n.logFile, 'utf8')).not.toMatch(/Worker started execution/);
	}, 120_000);

	it('decrypts credentials on the workers: Rate Limit (our package) and Send Email to the SMTP sink', async () => {
		const stack = getStack();
		const bg = await n8n.createCredential({
			name: unique('bg'),
			type: 'batchGuardianApi',
			data: { baseUrl: stack.service.url, apiKey: stack.service.apiKey },
		});
		const smtp = await n8n.createCredential({
			name: unique('smtp'),
			type: 'smtp',
			data: {
				user: '',
				password: '',
				host: sink.host,
				port: sink.port,
				secure: false,
				disableStartTls: true,
			},
		});
		const path = unique('queue-mail');
		const workflowId = await n8n.createAndActivate(
			webhookChain(unique('queue-mail'), path, [
				{
					name: 'Rate Limit',
					type: 'n8n-nodes-batch-guardian.rateLimit',
					typeVersion: 1,
					parameters: {
						operation: 'waitForCapacity',
						limiterKey: unique('queue-mail'),
						capacity: 10,
						refillAmount: 600,
						refillUnit: 'minute',
						maxWaitMs: 10_000,
					},
					credentials: { batchGuardianApi: { id: bg, name: 'bg' } },
				},
				{
					name: 'Send Email',
					type: 'n8n-nodes-base.emailSend',
					typeVersion: 2.1,
					parameters: {
						fromEmail: 'campaign@sender.test',
						toEmail: '={{ $("Webhook").item.json.body.to }}',
						subject: '={{ "queue mode " + $("Webhook").item.json.body.to }}',
						emailFormat: 'text',
						text: 'Sent by an n8n worker.',
						options: {},
					},
					credentials: { smtp: { id: smtp, name: 'smtp' } },
				},
			]),
		);
		const recipients = ['a@queue.test', 'b@queue.test', 'c@queue.test'];
		const answers = await Promise.all(recipients.map((to) => n8n.callWebhook(path, { to })));
		expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
		expect([...sink.byRecipient.keys()].sort()).toEqual(recipients);
		expect(sink.messages.map((m) => m.subject).sort()).toEqual(
			recipients.map((to) => `queue mode ${to}`),
		);

		const executions = await succeededExecutions(n8n, workflowId, 3);
		expect(executions).toHaveLength(3);
		const ranOnWorkers = new Set(n8n.workers.flatMap((worker) => [...ranBy(worker.logFile)]));
		expect(executions.filter((id) => ranOnWorkers.has(id))).toHaveLength(3);
	}, 120_000);

	it('gives a handle to each worker: kill -9 one, the other keeps serving, restart brings it back', async () => {
		const path = unique('queue-kill');
		await n8n.createAndActivate(setAndRespond(path));
		const [victim, survivor] = n8n.workers;
		const before = victim.pid;
		await victim.kill('SIGKILL');
		expect(victim.alive()).toBe(false);
		const whileDown = await Promise.all([1, 2, 3, 4].map((n) => n8n.callWebhook(path, { n })));
		expect(whileDown.map((a) => a.status)).toEqual([200, 200, 200, 200]);
		const ids = whileDown.map((a) => String((a.body as { executionId: string }).executionId));
		const survivorRan = ranBy(survivor.logFile);
		expect(ids.filter((id) => survivorRan.has(id))).toEqual(ids);

		await victim.restart();
		expect(victim.alive()).toBe(true);
		expect(victim.pid).not.toBe(before);
		const health = await fetch(`http://127.0.0.1:${victim.port}/healthz/readiness`);
		expect(health.status).toBe(200);
	}, 180_000);
});
