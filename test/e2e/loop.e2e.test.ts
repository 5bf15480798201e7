import { join } from 'node:path';

import type { WorkflowJson } from '../../scripts/lib/n8n/api';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { sleep } from '../../scripts/lib/process';
import { loopItems, ourLoopWorkflow, startLoopSink, type LoopSink } from '../harness/loop-workflow';
import { getStack, serviceRequest, unique } from './helpers';

/**
 * Split Into Chunks -> Loop in a real n8n of this test's own: 20,000 items, n8n killed with
 * SIGKILL mid-loop and started again on the same folder and port, the workflow re-triggered
 * with the same batch key. The body POSTs each item to a sink and records it.
 */
const ITEMS = 20_000;
const CHUNK = 100;

const log = (message: string) => process.stderr.write(`[loop e2e] ${message}\n`);

interface Progress {
	state: string;
	counts: Record<string, number>;
}

describe('Split Into Chunks -> Loop in real n8n, killed mid-loop', () => {
	jest.setTimeout(15 * 60_000);
	let n8n: N8nInstance;
	let sink: LoopSink;
	let path: string;
	let workflowId: string;
	let credential: { id: string; name: string };

	beforeAll(async () => {
		const stack = getStack();
		sink = await startLoopSink();
		n8n = await startN8n({
			packageTarball: stack.tarball,
			userFolder: join(stack.runDir, unique('n8n-loop')),
			env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
			log,
		});
		const name = 'Batch Guardian (local)';
		credential = {
			name,
			id: await n8n.createCredential({
				name,
				type: 'batchGuardianApi',
				data: { baseUrl: stack.service.url, apiKey: stack.service.apiKey },
			}),
		};
		path = unique('loop');
		workflowId = await n8n.createAndActivate(
			ourLoopWorkflow({
				name: unique('e2e loop'),
				path,
				sinkUrl: sink.url,
				chunkSize: CHUNK,
				credential,
			}),
		);
	});

	afterAll(async () => {
		await n8n?.stop();
		await sink?.close();
	});

	const progress = async (batchKey: string) =>
		(await serviceRequest<Progress>('GET', `/v1/batches/${batchKey}`)).body;

	it('resumes at the first unfinished chunk after a kill -9, works every item, and fires Done once', async () => {
		const batchKey = unique('loop-kill');
		const items = loopItems(ITEMS);
		const started = await n8n.callWebhook(path, { batchKey, items }, { timeoutMs: 60_000 });
		expect(started.status).toBe(200);

		const deadline = Date.now() + 5 * 60_000;
		while (sink.deliveries.size < ITEMS / 3) {
			if (Date.now() > deadline) throw new Error(`only ${sink.deliveries.size} items worked`);
			await sleep(200);
		}
		await n8n.main.kill('SIGKILL');
		sink.phase = 'resumed';
		const atKill = await progress(batchKey);
		// The loop goes chunk by chunk in order: the finished chunks are the first ones.
		const finishedItems = atKill.counts.succeeded;
		log(`killed n8n: ${finishedItems} items recorded, ${sink.deliveries.size} worked`);
		expect(finishedItems % CHUNK).toBe(0);
		expect(finishedItems).toBeGreaterThan(0);
		expect(sink.dones).toHaveLength(0);

		await n8n.main.restart();
		await n8n.login();
		const again = await n8n.callWebhook(path, { batchKey, items }, { timeoutMs: 60_000 });
		expect(again.status).toBe(200);
		const doneBy = Date.now() + 8 * 60_000;
		while (sink.dones.length === 0) {
			if (Date.now() > doneBy) throw new Error(`no Done; ${sink.deliveries.size} items worked`);
			await sleep(500);
		}
		await sleep(2_000);

		expect(sink.dones).toHaveLength(1);
		expect(sink.dones[0]).toMatchObject({
			batchId: batchKey,
			state: 'completed',
			counts: { total: ITEMS, succeeded: ITEMS },
		});
		expect(sink.deliveries.size).toBe(ITEMS);
		const index = (key: string) => Number(key.slice('item-'.length));
		const resumed = sink.log.filter((entry) => entry.phase === 'resumed').map((e) => index(e.key));
		// No item of a chunk finished before the kill was worked again.
		expect(resumed.filter((n) => n < finishedItems)).toEqual([]);
		// Only the chunk cut off by the kill is worked twice, at most.
		const twice = [...sink.deliveries].filter(([, n]) => n > 1).map(([key]) => index(key));
		expect(twice.every((n) => n >= finishedItems && n < finishedItems + CHUNK)).toBe(true);
		log(`${twice.length} items of the chunk cut off by the kill were worked twice`);

		const executions = await n8n.listExecutions({ workflowId, status: 'error', limit: 10 });
		expect(executions).toEqual([]);
	});

	/** A variant of the loop workflow, changed as `change` says, published; returns its id and path. */
	async function variant(change: (workflow: WorkflowJson) => void) {
		const runawayPath = unique('runaway');
		const workflow = ourLoopWorkflow({
			name: unique('e2e runaway loop'),
			path: runawayPath,
			sinkUrl: sink.url,
			chunkSize: CHUNK,
			credential,
		});
		change(workflow);
		return { id: await n8n.createAndActivate(workflow), path: runawayPath };
	}

	const failure = async (id: string, path: string) => {
		const items = loopItems(250);
		await n8n.callWebhook(path, { batchKey: unique('runaway'), items });
		const failed = await n8n.waitForExecution(id, (e) => e.status === 'error', 60_000);
		return failed.data?.resultData.error?.message;
	};

	it('stops a body that never records, saying so, instead of looping', async () => {
		const { id, path } = await variant((workflow) => {
			delete workflow.connections['Record Results'];
			workflow.connections['Work Item'] = {
				main: [[{ node: 'Split Into Chunks', type: 'main', index: 0 }]],
			};
		});
		expect(await failure(id, path)).toMatch(
			/^The loop body returned without recording 100 items of chunk 0 of batch 'runaway-/,
		);
	});

	it('stops when Done leads back into the loop, saying so', async () => {
		const { id, path } = await variant((workflow) => {
			workflow.connections['Report Done'] = {
				main: [[{ node: 'Split Into Chunks', type: 'main', index: 0 }]],
			};
		});
		expect(await failure(id, path)).toMatch(
			/^The loop over batch 'runaway-[0-9a-f]+' already finished in this execution/,
		);
	});
});
