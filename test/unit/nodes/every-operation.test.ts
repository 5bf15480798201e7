import { createHash } from 'node:crypto';
import type { IHttpRequestOptions, INodeExecutionData, VersionedNodeType } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { BatchStatus } from '../../../nodes/BatchStatus/BatchStatus.node';
import { Checkpoint } from '../../../nodes/Checkpoint/Checkpoint.node';
import { RateLimit } from '../../../nodes/RateLimit/RateLimit.node';
import { cursorChecksumText } from '../../../nodes/shared/contract';
import { SplitIntoChunks } from '../../../nodes/SplitIntoChunks/SplitIntoChunks.node';
import { mockContext } from './mock-context';

/**
 * Every operation of every node goes through nodes/shared/run-items.ts. These cases hold each of
 * them to the same rules: outputs in input order, each entry paired with its input item, a bad
 * item refused before any request (or, with Continue On Fail, turned into its own error entry on
 * the operation's error output), and a service failure failing every item it concerned.
 */

type Parameters = Record<string, unknown>;
interface Case {
	node: VersionedNodeType;
	operation: string;
	parameters: (itemIndex: number) => Parameters;
	/** Makes item `itemIndex` bad: its parameters or its json. */
	spoil: { parameters?: Parameters; json?: Record<string, unknown> };
	/** Output that gets failed items. */
	errorOutput?: number;
}

/** Plays every service route the nodes call, answering success for whatever is asked. */
function serviceAnswer(req: IHttpRequestOptions): { statusCode: number; body: unknown } {
	const path = new URL(String(req.url)).pathname;
	const body = (req.body ?? {}) as Record<string, unknown>;
	const ok = (answer: unknown) => ({ statusCode: 200, body: answer });
	if (path === '/v1/batches' && req.method === 'POST') return ok({ batchId: 'b-1', created: true });
	if (path === '/v1/batches') return ok({ batches: [{ batchId: 'b-1' }], nextCursor: null });
	if (path.endsWith('/items')) return ok({ accepted: (body.items as unknown[]).length });
	if (path.endsWith('/claim')) return ok({ claimed: body.keys, skipped: [], lease: 'l-1' });
	if (path.endsWith('/results')) return ok({ ignored: [], progress: { percent: 1 } });
	if (path.endsWith('/take')) return ok({ granted: (body.costs as unknown[]).length });
	if (path.endsWith('/acquire')) return ok({ granted: true, waitedMs: 0, retryAfterMs: 0 });
	if (path.endsWith('/wait')) return ok({ done: true, progress: { batchId: 'b-1' } });
	if (path.startsWith('/v1/cursors/')) {
		const value = req.method === 'PUT' ? body.value : 'v';
		const version = req.method === 'PUT' ? Number(body.expectedVersion) + 1 : 1;
		const text = cursorChecksumText('c-1', version, JSON.stringify(value));
		const checksum = createHash('sha256').update(text).digest('hex');
		return ok({ name: 'c-1', value, version, checksum, updatedAt: '2026-05-01T00:00:00Z' });
	}
	return ok({ batchId: 'b-1', state: 'running' });
}

const limiter = { limiterKey: 'smtp', capacity: 10, refillAmount: 600, refillUnit: 'minute' };
const checkpoint = (operation: string) => (i: number) => ({
	operation,
	batchId: 'b-1',
	itemKey: `k${i}`,
	lease: 'lease-1',
	status: 'auto',
	options: {},
});
const submit = (outputMode: string) => () => ({
	operation: 'submitBatch',
	batchKey: 'campaign-1',
	targetUrl: '',
	outputMode,
	keySource: 'field',
	keyField: 'id',
	options: {},
});
const batchStatus = (operation: string): Case => ({
	node: new BatchStatus(),
	operation,
	parameters: () => ({ operation, batchId: 'b-1', state: '', limit: 5, maxWaitSeconds: 1 }),
	spoil: { parameters: operation === 'list' ? { limit: 0 } : { batchId: 'not an id' } },
});

const cases: Case[] = [
	{
		node: new SplitIntoChunks(),
		operation: 'submitBatch (Batch Summary)',
		parameters: submit('summary'),
		spoil: { json: { id: '' } },
	},
	{
		node: new SplitIntoChunks(),
		operation: 'submitBatch (Pass Items Through)',
		parameters: submit('passThrough'),
		spoil: { json: { id: 'has spaces' } },
	},
	{
		node: new Checkpoint(),
		operation: 'claim',
		parameters: checkpoint('claim'),
		spoil: { parameters: { itemKey: 'bad key' } },
		errorOutput: 1,
	},
	{
		node: new Checkpoint(),
		operation: 'recordResults',
		parameters: checkpoint('recordResults'),
		spoil: { parameters: { batchId: '' } },
	},
	{
		node: new Checkpoint(),
		operation: 'loadCursor',
		parameters: () => ({ operation: 'loadCursor', cursorName: 'c-1', cursorField: 'cursor' }),
		spoil: { parameters: { cursorName: 'bad name' } },
	},
	{
		node: new Checkpoint(),
		operation: 'saveCursor',
		// Each item its own cursor: one save per cursor and run.
		parameters: (i) => ({
			operation: 'saveCursor',
			cursorName: `c-${i}`,
			cursorField: 'cursor',
			cursorValue: i,
			expectedVersion: 0,
		}),
		spoil: { parameters: { expectedVersion: -1 } },
	},
	...['waitForCapacity', 'split', 'reportThrottle'].map((operation): Case => ({
		node: new RateLimit(),
		operation,
		parameters: () => ({ ...limiter, operation, costPerItem: 1, maxWaitMs: 1000, retryAfter: '1' }),
		spoil: {
			parameters: operation === 'reportThrottle' ? { retryAfter: 'soon' } : { capacity: 0 },
		},
	})),
	...[
		'get',
		'list',
		'waitForCompletion',
		'pause',
		'resume',
		'cancel',
		'retryDeadLetters',
		'finalReport',
	].map(batchStatus),
];

const BAD = 1;

function setup(
	test: Case,
	options: { spoiled?: boolean; continueOnFail?: boolean; down?: boolean },
) {
	const items: INodeExecutionData[] = [0, 1, 2].map((n) => ({
		json: { id: `r${n}`, n, ...(options.spoiled && n === BAD ? test.spoil.json : {}) },
	}));
	return mockContext({
		items,
		continueOnFail: options.continueOnFail,
		parameters: (i) => ({
			...test.parameters(i),
			...(options.spoiled && i === BAD ? test.spoil.parameters : {}),
		}),
		respond: options.down
			? () => ({ statusCode: 503, body: { error: { message: 'Redis is unreachable' } } })
			: serviceAnswer,
	});
}

/** The input item indexes an entry is paired with. */
const pairs = (entry: INodeExecutionData) =>
	[entry.pairedItem ?? []].flat().map((paired) => (paired as { item: number }).item);

describe.each(cases)(
	'$node.description.displayName $operation, through the shared helper',
	(test) => {
		const execute = async (ctx: ReturnType<typeof setup>['ctx']) =>
			(await test.node.nodeVersions[1].execute!.call(ctx)) as INodeExecutionData[][];
		const errorOutput = test.errorOutput ?? 0;

		it('keeps input order in every output and pairs every item', async () => {
			const { ctx, calls } = setup(test, {});
			const outputs = await execute(ctx);
			expect(calls.length).toBeGreaterThan(0);
			for (const output of outputs) {
				const order = output.flatMap(pairs);
				expect(order).toEqual([...order].sort((a, b) => a - b));
			}
			expect(new Set(outputs.flat().flatMap(pairs))).toEqual(new Set([0, 1, 2]));
			expect(outputs.flat().every((entry) => entry.error === undefined)).toBe(true);
		});

		it('refuses a bad item by its index before any request', async () => {
			const { ctx, calls } = setup(test, { spoiled: true });
			const failing = execute(ctx);
			await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
			await expect(failing).rejects.toMatchObject({
				context: expect.objectContaining({ itemIndex: BAD }),
			});
			expect(calls).toHaveLength(0);
		});

		it('with Continue On Fail, turns the bad item into its own error entry and works the rest', async () => {
			const { ctx, calls } = setup(test, { spoiled: true, continueOnFail: true });
			const outputs = await execute(ctx);
			expect(calls.length).toBeGreaterThan(0);
			const failed = outputs.flat().filter((entry) => entry.error !== undefined);
			expect(failed).toHaveLength(1);
			expect(failed[0]).toMatchObject({ pairedItem: { item: BAD }, json: { n: BAD } });
			expect(failed[0].error).toBeInstanceOf(NodeOperationError);
			expect(outputs[errorOutput]).toContain(failed[0]);
			const worked = outputs.flat().filter((entry) => entry.error === undefined);
			expect(new Set(worked.flatMap(pairs))).toEqual(new Set([0, 2]));
		});

		it('fails every item on a service failure: NodeApiError, or error entries in order', async () => {
			await expect(execute(setup(test, { down: true }).ctx)).rejects.toBeInstanceOf(NodeApiError);
			const outputs = await execute(setup(test, { down: true, continueOnFail: true }).ctx);
			expect(outputs[errorOutput].map((entry) => [pairs(entry), entry.json.error])).toEqual(
				[0, 1, 2].map((item) => [[item], 'Redis is unreachable']),
			);
			expect(outputs[errorOutput].every((entry) => entry.error instanceof NodeApiError)).toBe(true);
		});
	},
);
