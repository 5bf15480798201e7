import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { keysOf, liveService, recordResults, splitIntoChunks, type LiveService } from './live-node';

/**
 * Split Into Chunks -> Loop against the real service: the loop is played the way n8n runs it
 * (first run with the input, then a run per chunk the body hands back, in one node context).
 */
const input = (count: number) =>
	Array.from({ length: count }, (_, n) => ({ json: { id: `row-${n}`, n } }));

const loopParameters = (batchKey: string, options: IDataObject = {}) => ({
	operation: 'loop',
	batchKey,
	keySource: 'field',
	keyField: 'id',
	options: { chunkSize: 10, ...options },
});

describe('Split Into Chunks -> Loop (real service, real Redis)', () => {
	let live: LiveService;
	beforeEach(async () => {
		live = await liveService();
	});
	afterEach(async () => live.close());

	/** Runs the loop until Done or `stopAfter` chunks; the body records every chunk it gets. */
	async function drive(
		batchKey: string,
		items: INodeExecutionData[],
		options: { stopAfter?: number; nodeContext?: IDataObject; loop?: IDataObject } = {},
	) {
		const nodeContext = options.nodeContext ?? {};
		const parameters = loopParameters(batchKey, options.loop);
		const seen: string[][] = [];
		const dones: INodeExecutionData[] = [];
		let [chunk, done] = await live.run(splitIntoChunks, { parameters, items, nodeContext });
		for (let turn = 0; turn < 100; turn++) {
			dones.push(...done);
			if (chunk.length === 0 || seen.length === options.stopAfter) break;
			seen.push(keysOf(chunk));
			const recorded = await recordResults(live, chunk);
			[chunk, done] = await live.run(splitIntoChunks, { parameters, items: recorded, nodeContext });
		}
		return { seen, dones, nodeContext };
	}

	it('hands out every chunk once, in order, then fires Done once with the summary', async () => {
		const { seen, dones } = await drive('loop-a', input(25));
		expect(seen.map((keys) => keys.length)).toEqual([10, 10, 5]);
		expect(seen.flat()).toEqual(input(25).map((item) => item.json.id));
		expect(dones).toHaveLength(1);
		expect(dones[0].json).toMatchObject({
			batchId: 'loop-a',
			state: 'completed',
			counts: { total: 25, succeeded: 25 },
		});
	});

	it('gives the body what Record Results reads, paired with the input items', async () => {
		const [chunk, done] = await live.run(splitIntoChunks, {
			parameters: loopParameters('loop-b'),
			items: input(12),
			nodeContext: {},
		});
		expect(done).toEqual([]);
		expect(chunk[3]).toEqual({
			json: {
				id: 'row-3',
				n: 3,
				batchId: 'loop-b',
				itemKey: 'row-3',
				chunkIndex: 0,
				lease: expect.stringMatching(/^loop-0-/),
			},
			pairedItem: { item: 3 },
		});
	});

	it('resumes a run that died at the first unfinished chunk: finished chunks never come again', async () => {
		const items = input(45);
		const first = await drive('loop-c', items, { stopAfter: 2 });
		expect(first.seen.flat()).toHaveLength(20);
		// The body got chunk 2 and died before recording it (n8n killed): a new execution, a new context.
		const [handedOut] = await live.run(splitIntoChunks, {
			parameters: loopParameters('loop-c'),
			items,
			nodeContext: {},
		});
		expect(keysOf(handedOut)[0]).toBe('row-20');
		const resumed = await drive('loop-c', items);
		expect(resumed.seen[0]).toEqual(keysOf(handedOut));
		expect([...first.seen.flat(), ...resumed.seen.flat()]).toEqual(items.map((i) => i.json.id));
		expect(resumed.dones).toHaveLength(1);
		expect(resumed.dones[0].json).toMatchObject({ counts: { succeeded: 45 } });
	});

	it('stops a body that hands chunks back without recording them', async () => {
		const nodeContext = {};
		const parameters = loopParameters('loop-d');
		const [chunk] = await live.run(splitIntoChunks, { parameters, items: input(30), nodeContext });
		const runaway = live.run(splitIntoChunks, { parameters, items: chunk, nodeContext });
		await expect(runaway).rejects.toThrow(
			"The loop body returned without recording 10 items of chunk 0 of batch 'loop-d'",
		);
		await expect(runaway).rejects.toMatchObject({
			description: expect.stringContaining('Record Results'),
		});
	});

	it('stops when Done leads back into the node, instead of looping forever', async () => {
		const { dones, nodeContext } = await drive('loop-e', input(5));
		expect(dones).toHaveLength(1);
		await expect(
			live.run(splitIntoChunks, {
				parameters: loopParameters('loop-e'),
				items: dones,
				nodeContext,
			}),
		).rejects.toThrow("The loop over batch 'loop-e' already finished in this execution");
	});

	it('waits in the service for retries that are not due yet, and goes on', async () => {
		const nodeContext = {};
		const parameters = loopParameters('loop-f');
		const items = input(3);
		let [chunk] = await live.run(splitIntoChunks, { parameters, items, nodeContext });
		// Rate Limit's Limited output: given back unworked, claimable again in 500 ms.
		const limited = chunk.map((item) => ({ json: { ...item.json, retryAfterMs: 500 } }));
		const recorded = await recordResults(live, limited);
		expect(recorded[0].json).toMatchObject({ status: 'released', recorded: true });
		const started = Date.now();
		let done: INodeExecutionData[];
		[chunk, done] = await live.run(splitIntoChunks, { parameters, items: recorded, nodeContext });
		expect(Date.now() - started).toBeGreaterThanOrEqual(400);
		expect(done).toEqual([]);
		expect(keysOf(chunk)).toEqual(['row-0', 'row-1', 'row-2']);
		[chunk, done] = await live.run(splitIntoChunks, {
			parameters,
			items: await recordResults(live, chunk),
			nodeContext,
		});
		expect(chunk).toEqual([]);
		expect(done[0].json).toMatchObject({ state: 'completed', counts: { succeeded: 3 } });
	});

	it('stops waiting for retries after Max Wait, and says how to go on', async () => {
		const nodeContext = {};
		const parameters = loopParameters('loop-g', {
			backoffInitialMs: 60_000,
			backoffMaxMs: 60_000,
			maxRetryWaitSeconds: 1,
		});
		const [chunk] = await live.run(splitIntoChunks, { parameters, items: input(2), nodeContext });
		const failed = chunk.map((item) => ({ json: { ...item.json, error: 'timeout' } }));
		const recorded = await recordResults(live, failed);
		await expect(
			live.run(splitIntoChunks, { parameters, items: recorded, nodeContext }),
		).rejects.toThrow(/The loop stopped waiting: 2 item\(s\) of batch 'loop-g' wait for a retry/);
	});

	it('with Record When Handed Back, a chunk handed back counts as done; what the body recorded stays', async () => {
		const nodeContext = {};
		const parameters = loopParameters('loop-r', { recordOnReturn: true, maxAttempts: 2 });
		const seen: string[] = [];
		let [chunk, done] = await live.run(splitIntoChunks, {
			parameters,
			items: input(25),
			nodeContext,
		});
		for (let turn = 0; chunk.length > 0 && turn < 10; turn++) {
			seen.push(...keysOf(chunk));
			// The body records one failure itself (an error branch), the rest it just hands back.
			const failing = chunk.filter((item) => item.json.itemKey === 'row-12');
			const failed = failing.map((item) => ({
				json: { ...item.json, error: { message: 'HTTP 422', httpCode: 422 } },
			}));
			if (failed.length > 0) await recordResults(live, failed);
			[chunk, done] = await live.run(splitIntoChunks, { parameters, items: chunk, nodeContext });
		}
		expect(seen).toEqual(input(25).map((item) => item.json.id));
		expect(done[0].json).toMatchObject({
			state: 'completed_with_errors',
			counts: { succeeded: 24, deadLettered: 1 },
		});
	});

	it('refuses a bad item before the first request, naming it', async () => {
		const items = [...input(3), { json: { id: 'has spaces' } }];
		await expect(
			live.run(splitIntoChunks, { parameters: loopParameters('loop-h'), items, nodeContext: {} }),
		).rejects.toMatchObject({ context: expect.objectContaining({ itemIndex: 3 }) });
		const answer = await fetch(`${live.url}/v1/batches/loop-h`, {
			headers: { 'x-api-key': 'test-key-0123456789abcdef' },
		});
		expect(answer.status).toBe(404);
	});
});
