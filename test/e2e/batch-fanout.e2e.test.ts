import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

import type { N8nApi, WorkflowJson } from '../../scripts/lib/n8n/api';
import { sleep } from '../../scripts/lib/process';
import { getStack, n8nClient, serviceRequest, unique, webhookChain } from './helpers';

/**
 * 10,000 items through the shipped intake and worker templates in a real n8n, against a sink
 * that fails some items once (transient, 503) and some until it is fixed (permanent, 422).
 */
const TOTAL = 10_000;
const isTransient = (n: number) => n % 200 === 7;
const isPermanent = (n: number) => n % 200 === 13;
const TRANSIENT = Array.from({ length: TOTAL }, (_, n) => n).filter(isTransient).length;
const PERMANENT = Array.from({ length: TOTAL }, (_, n) => n).filter(isPermanent).length;

const CREDENTIAL_TYPE = 'batchGuardianApi';
const TERMINAL = ['completed', 'completed_with_errors', 'aborted', 'cancelled'];

interface Progress {
	batchId: string;
	state: string;
	counts: Record<string, number>;
	errorClasses?: Record<string, { count: number }>;
}

/** The sink: answers per item as told, and counts what it accepted per idempotency key. */
class Sink {
	broken = true;
	readonly attempts = new Map<number, number>();
	readonly accepted = new Map<string, number>();
	private server?: Server;

	async start(): Promise<string> {
		this.server = createServer((req, res) => {
			let body = '';
			req.on('data', (chunk: Buffer) => (body += chunk.toString()));
			req.on('end', () => {
				const item = JSON.parse(body || '{}') as { n?: number };
				const n = Number(item.n);
				const attempt = (this.attempts.get(n) ?? 0) + 1;
				this.attempts.set(n, attempt);
				let status = 200;
				if (isTransient(n) && attempt === 1) status = 503;
				if (isPermanent(n) && this.broken) status = 422;
				if (status === 200) {
					const key = String(req.headers['idempotency-key']);
					this.accepted.set(key, (this.accepted.get(key) ?? 0) + 1);
				}
				res.writeHead(status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(status === 200 ? { ok: true } : { error: `sink says ${status}` }));
			});
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/items`;
	}

	async stop(): Promise<void> {
		this.server?.closeAllConnections();
		await new Promise<void>((resolve) =>
			this.server ? this.server.close(() => resolve()) : resolve(),
		);
	}
}

type TemplateNode = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, unknown>;
};

/** A shipped template, made unique for this run and pointed at this run's credential and sink. */
function template(
	file: string,
	credential: { id: string; name: string },
	patch: (node: TemplateNode) => void,
): WorkflowJson {
	const json = JSON.parse(
		readFileSync(join(__dirname, '../../workflows', file), 'utf8'),
	) as WorkflowJson;
	json.name = unique(json.name);
	for (const node of json.nodes as TemplateNode[]) {
		if (node.credentials?.[CREDENTIAL_TYPE]) node.credentials[CREDENTIAL_TYPE] = credential;
		patch(node);
	}
	return json;
}

async function progress(batchId: string): Promise<Progress> {
	const answer = await serviceRequest<Progress>('GET', `/v1/batches/${batchId}`);
	expect(answer.status).toBe(200);
	return answer.body;
}

/** Polls the service until the batch is terminal; bounded, and says where it stood otherwise. */
async function settle(batchId: string, timeoutMs: number): Promise<Progress> {
	const deadline = Date.now() + timeoutMs;
	let last = await progress(batchId);
	while (!TERMINAL.includes(last.state) && Date.now() < deadline) {
		await sleep(1000);
		last = await progress(batchId);
	}
	if (!TERMINAL.includes(last.state)) {
		throw new Error(`batch ${batchId} not done after ${timeoutMs} ms: ${JSON.stringify(last)}`);
	}
	return last;
}

describe('durable fan-out: 10,000 items through n8n intake and worker workflows', () => {
	jest.setTimeout(15 * 60_000);
	const sink = new Sink();
	let n8n: N8nApi;
	let workerId: string;
	let intakePath: string;
	let workerPath: string;
	let controlPath: string;
	let waitPath: string;

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		await n8n.login();
		const sinkUrl = await sink.start();
		const name = unique('Batch Guardian (local)');
		const credential = {
			name,
			id: await n8n.createCredential({
				name,
				type: CREDENTIAL_TYPE,
				data: { baseUrl: stack.service.url, apiKey: stack.service.apiKey },
			}),
		};
		intakePath = unique('batch-intake');
		workerPath = unique('batch-worker');
		const worker = template('batch-worker.json', credential, (node) => {
			if (node.name === 'Worker Webhook') node.parameters.path = workerPath;
			if (node.name === 'Send Item') node.parameters.url = sinkUrl;
		});
		const intake = template('batch-intake.json', credential, (node) => {
			if (node.name === 'Intake Webhook') node.parameters.path = intakePath;
			if (node.type.endsWith('.splitIntoChunks')) {
				// Short backoff keeps the test quick; the schedule itself is the service's concern.
				node.parameters.options = {
					chunkSize: 100,
					concurrency: 4,
					maxAttempts: 3,
					backoffInitialMs: 200,
					backoffMaxMs: 1000,
				};
			}
		});
		workerId = await n8n.createAndActivate(worker);
		await n8n.createAndActivate(intake);
		const statusNode = (operation: string, extra: Record<string, unknown>) => ({
			name: 'Batch Status',
			type: 'n8n-nodes-batch-guardian.batchStatus',
			typeVersion: 1,
			parameters: { operation, batchId: '={{ $json.body.batchId }}', ...extra },
			credentials: { [CREDENTIAL_TYPE]: credential },
		});
		controlPath = unique('batch-retry');
		await n8n.createAndActivate(
			webhookChain(unique('e2e retry dead letters'), controlPath, [
				statusNode('retryDeadLetters', { errorClass: '={{ $json.body.errorClass }}' }),
			]),
		);
		waitPath = unique('batch-wait');
		await n8n.createAndActivate(
			webhookChain(unique('e2e wait for batch'), waitPath, [
				statusNode('waitForCompletion', { maxWaitSeconds: 240, failOnTimeout: false }),
			]),
		);
	});

	afterAll(async () => {
		await sink.stop();
	});

	it('delivers every item once, dead-letters the permanent failures, and completes after a retry', async () => {
		const items = Array.from({ length: TOTAL }, (_, n) => ({ id: `item-${n}`, n }));
		const submitted = await n8n.callWebhook<Record<string, unknown>>(
			intakePath,
			{ batchKey: unique('fanout'), workerUrl: n8n.webhookUrl(workerPath), items },
			{ timeoutMs: 180_000 },
		);
		expect(submitted.status).toBe(200);
		expect(submitted.body).toMatchObject({
			created: true,
			items: TOTAL,
			accepted: TOTAL,
			duplicates: 0,
		});
		const batchId = String(submitted.body.batchId);

		const first = await settle(batchId, 8 * 60_000);
		expect(first.state).toBe('completed_with_errors');
		expect(first.counts.succeeded + first.counts.deadLettered).toBe(TOTAL);
		expect(first.counts.deadLettered).toBe(PERMANENT);
		expect(first.errorClasses?.http_422?.count).toBe(PERMANENT);

		// Transient failures recovered: each was refused once, then accepted.
		const transientKeys = [...sink.attempts.keys()].filter(isTransient);
		expect(transientKeys).toHaveLength(TRANSIENT);
		for (const n of transientKeys) expect(sink.attempts.get(n)).toBeGreaterThanOrEqual(2);
		const deadLetters = await serviceRequest<Record<string, unknown>>(
			'GET',
			`/v1/batches/${batchId}/dead-letters?limit=1000`,
		);
		expect(deadLetters.status).toBe(200);
		// The contract names the route, not the envelope: accept a list or { items | deadLetters }.
		const body = deadLetters.body;
		const letters = (Array.isArray(body) ? body : (body.items ?? body.deadLetters)) as Array<
			Record<string, unknown>
		>;
		expect(letters).toHaveLength(PERMANENT);
		for (const letter of letters) expect(letter).toMatchObject({ class: 'http_422' });

		// The sink is fixed; Batch Status > Retry Dead Letters, through a workflow, finishes the batch.
		sink.broken = false;
		const retried = await n8n.callWebhook(controlPath, { batchId, errorClass: 'http_422' });
		expect(retried.status).toBe(200);
		const waited = await n8n.callWebhook<Progress & { done: boolean }>(
			waitPath,
			{ batchId },
			{ timeoutMs: 300_000 },
		);
		expect(waited.status).toBe(200);
		expect(waited.body).toMatchObject({ done: true, state: 'completed' });
		const final = await progress(batchId);
		expect(final.counts).toMatchObject({ succeeded: TOTAL, deadLettered: 0 });

		// No duplicate effects: the sink accepted every idempotency key exactly once.
		expect(sink.accepted.size).toBe(TOTAL);
		expect([...sink.accepted.values()].every((count) => count === 1)).toBe(true);

		// Worker executions carry batchId and chunkIndex as custom data.
		const executions = await n8n.listExecutions({
			workflowId: workerId,
			includeData: true,
			limit: 10,
		});
		expect(executions.length).toBeGreaterThan(0);
		for (const execution of executions) {
			const metadata = execution.data?.resultData.metadata as Record<string, string> | undefined;
			expect(metadata).toMatchObject({ batchId, chunkIndex: expect.stringMatching(/^\d+$/) });
		}
	});
});
