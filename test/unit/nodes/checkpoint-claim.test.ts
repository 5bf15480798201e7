import type { IHttpRequestOptions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { Checkpoint } from '../../../nodes/Checkpoint/Checkpoint.node';
import { mockContext, type MockContextOptions } from './mock-context';

const node = new Checkpoint();
const v1 = node.nodeVersions[1];

type Output = Array<
	Array<{ json: Record<string, unknown>; pairedItem?: unknown; error?: unknown }>
>;

/** Items as a Split Out of the dispatch body.items leaves them (parameters stand for the expressions). */
const dispatchItems = (keys: string[]) =>
	keys.map((key) => ({ json: { key, json: { to: `${key}@example.test` } } }));

const claimParameters =
	(keys: string[], extra: Record<string, unknown> = {}) =>
	(i: number) => ({
		operation: 'claim',
		batchId: 'b-1',
		itemKey: keys[i],
		lease: 'lease-7',
		chunkIndex: 3,
		options: {},
		...extra,
	});

async function run(options: MockContextOptions) {
	const context = mockContext(options);
	const output = (await v1.execute!.call(context.ctx)) as Output;
	return { output, ...context };
}

const claimAnswer = (req: IHttpRequestOptions) => {
	const keys = (req.body as { keys: string[] }).keys;
	return {
		statusCode: 200,
		body: {
			claimed: keys.filter((k) => !k.startsWith('done') && !k.startsWith('busy')),
			skipped: keys
				.filter((k) => k.startsWith('done') || k.startsWith('busy'))
				.map((key) => ({ key, reason: key.startsWith('done') ? 'finished' : 'leased' })),
			lease: (req.body as { lease?: string }).lease ?? 'lease-new',
		},
	};
};

describe('Checkpoint node v1: description', () => {
	it('is versioned, usable as a tool, with Claim, Record Results, Load Cursor and Save Cursor', () => {
		expect(node.description.name).toBe('checkpoint');
		expect(v1.description.usableAsTool).toBe(true);
		const operation = v1.description.properties.find((p) => p.name === 'operation');
		expect(operation?.options?.map((o) => (o as { value: string }).value)).toEqual([
			'claim',
			'recordResults',
			'loadCursor',
			'saveCursor',
		]);
	});

	it('has outputs Claimed and Skipped for Claim and one output for every other operation', () => {
		expect(v1.description.outputs).toEqual(expect.stringContaining('"Claimed"'));
		expect(v1.description.outputs).toEqual(expect.stringContaining('"Skipped"'));
		expect(v1.description.outputs).toEqual(
			expect.stringContaining('$parameter.operation === "claim"'),
		);
	});

	it('defaults its fields to the dispatch shape, documented', () => {
		const defaults = Object.fromEntries(v1.description.properties.map((p) => [p.name, p.default]));
		expect(defaults.batchId).toBe('={{ $json.batchId ?? $json.body?.batchId }}');
		expect(defaults.itemKey).toBe('={{ $json.itemKey ?? $json.key ?? $json.id }}');
		expect(defaults.lease).toBe('={{ $json.lease ?? $json.body?.lease }}');
	});
});

describe('Checkpoint Claim', () => {
	it('claims all items in one request and splits them into Claimed and Skipped', async () => {
		const keys = ['a', 'done-1', 'b', 'busy-1'];
		const { output, calls, customData } = await run({
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond: claimAnswer,
		});
		expect(calls).toHaveLength(1);
		expect(calls[0].options).toMatchObject({
			method: 'POST',
			url: 'http://service.test:3030/v1/batches/b-1/claim',
			body: { keys, lease: 'lease-7', execution: { id: 'exec-1', workflowId: 'wf-1' } },
		});
		expect(output[0]).toEqual([
			{ json: { key: 'a', json: { to: 'a@example.test' } }, pairedItem: { item: 0 } },
			{ json: { key: 'b', json: { to: 'b@example.test' } }, pairedItem: { item: 2 } },
		]);
		expect(output[1]).toEqual([
			{
				json: expect.objectContaining({ key: 'done-1', skipReason: 'finished' }),
				pairedItem: { item: 1 },
			},
			{
				json: expect.objectContaining({ key: 'busy-1', skipReason: 'leased' }),
				pairedItem: { item: 3 },
			},
		]);
		expect(customData).toEqual({ batchId: 'b-1', chunkIndex: '3' });
	});

	it('claims 500 items with a single request', async () => {
		const keys = Array.from({ length: 500 }, (_, i) => `k${i}`);
		const { output, calls } = await run({
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond: claimAnswer,
		});
		expect(calls).toHaveLength(1);
		expect(output[0]).toHaveLength(500);
	});

	it('without a lease, leases free items for Lease Duration and hands the new lease on', async () => {
		const keys = ['a'];
		const { output, calls } = await run({
			items: dispatchItems(keys),
			parameters: claimParameters(keys, { lease: '', options: { leaseMs: 30000 } }),
			respond: claimAnswer,
		});
		expect(calls[0].options.body).toEqual({
			keys: ['a'],
			leaseMs: 30000,
			claimId: expect.stringMatching(/^exec-1\.0\.[0-9a-z]+$/),
			execution: { id: 'exec-1', workflowId: 'wf-1' },
		});
		expect(output[0][0].json.lease).toBe('lease-new');
	});

	it('makes one request per batch when items of two batches arrive', async () => {
		const keys = ['a', 'b', 'c'];
		const { calls } = await run({
			items: dispatchItems(keys),
			parameters: (i) => ({ ...claimParameters(keys)(i), batchId: i === 1 ? 'b-2' : 'b-1' }),
			respond: claimAnswer,
		});
		expect(calls.map((c) => [c.options.url, (c.options.body as { keys: string[] }).keys])).toEqual([
			['http://service.test:3030/v1/batches/b-1/claim', ['a', 'c']],
			['http://service.test:3030/v1/batches/b-2/claim', ['b']],
		]);
	});

	it('names the item with an empty key, before any request', async () => {
		const keys = ['a', ''];
		const { ctx, calls } = mockContext({
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond: claimAnswer,
		});
		const failing = v1.execute!.call(ctx);
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toMatchObject({
			message: "'Item Key' is empty",
			context: expect.objectContaining({ itemIndex: 1 }),
		});
		expect(calls).toHaveLength(0);
	});

	it('with Continue On Fail, a bad item goes to Skipped as an error and the rest is claimed', async () => {
		const keys = ['a', 'bad key'];
		const { output, calls } = await run({
			continueOnFail: true,
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond: claimAnswer,
		});
		expect(calls).toHaveLength(1);
		expect(output[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }]);
		expect(output[1]).toEqual([
			expect.objectContaining({
				json: expect.objectContaining({
					key: 'bad key',
					error: "'Item Key' is not a valid id: 'bad key'",
				}),
				error: expect.any(NodeOperationError),
				pairedItem: { item: 1 },
			}),
		]);
	});

	it('turns a service failure into a NodeApiError, or errors on Skipped with Continue On Fail', async () => {
		const keys = ['a', 'b'];
		const respond = () => ({
			statusCode: 404,
			body: { error: { code: 'not_found', message: "No batch 'b-1'" } },
		});
		const { ctx } = mockContext({
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond,
		});
		await expect(v1.execute!.call(ctx)).rejects.toBeInstanceOf(NodeApiError);
		const { output } = await run({
			continueOnFail: true,
			items: dispatchItems(keys),
			parameters: claimParameters(keys),
			respond,
		});
		expect(output[0]).toEqual([]);
		expect(output[1].map((i) => [i.json.error, i.pairedItem])).toEqual([
			["No batch 'b-1'", { item: 0 }],
			["No batch 'b-1'", { item: 1 }],
		]);
	});
});

describe('Checkpoint Claim in checkpoint mode (items worked by their own workflow)', () => {
	/** Items as Split Into Chunks (Pass Items Through) leaves them. */
	const passedItems = (keys: string[]) =>
		keys.map((key) => ({ json: { id: `row-${key}`, batchId: 'b-1', itemKey: key } }));
	const parameters = (keys: string[]) => claimParameters(keys, { lease: '', chunkIndex: '' });

	it('sends items the service skips to Skipped with the reason, and dueAt when given', async () => {
		const dueAt = '2026-01-01T00:01:00.000Z';
		const keys = ['a', 'b', 'c', 'd'];
		const { output } = await run({
			items: passedItems(keys),
			parameters: parameters(keys),
			respond: () => ({
				statusCode: 200,
				body: {
					claimed: ['a'],
					skipped: [
						{ key: 'b', reason: 'not_due', dueAt },
						{ key: 'c', reason: 'batch_finished' },
						{ key: 'd', reason: 'dead_lettered' },
					],
					lease: 'lease-new',
				},
			}),
		});
		expect(output[0]).toEqual([
			{
				json: { id: 'row-a', batchId: 'b-1', itemKey: 'a', lease: 'lease-new' },
				pairedItem: { item: 0 },
			},
		]);
		expect(output[1].map((i) => [i.json.skipReason, i.json.dueAt, i.pairedItem])).toEqual([
			['not_due', dueAt, { item: 1 }],
			['batch_finished', undefined, { item: 2 }],
			['dead_lettered', undefined, { item: 3 }],
		]);
		expect(output[1].every((i) => i.error === undefined)).toBe(true);
	});

	it('names a claim by execution, run and keys, so a retried request gets the same items', async () => {
		const claimIdOf = async (keys: string[]) => {
			const { calls } = await run({
				items: passedItems(keys),
				parameters: parameters(keys),
				respond: claimAnswer,
			});
			return (calls[0].options.body as { claimId: string }).claimId;
		};
		expect(await claimIdOf(['a', 'b'])).toBe(await claimIdOf(['a', 'b']));
		expect(await claimIdOf(['a', 'b'])).not.toBe(await claimIdOf(['a', 'c']));
	});

	it('claims a key once; the same key again in the input goes to Skipped as duplicate', async () => {
		const keys = ['a', 'a', 'b'];
		const { output, calls } = await run({
			items: passedItems(keys),
			parameters: parameters(keys),
			respond: claimAnswer,
		});
		expect((calls[0].options.body as { keys: string[] }).keys).toEqual(['a', 'b']);
		expect(output[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 2 }]);
		expect(output[1]).toEqual([
			{
				json: expect.objectContaining({ itemKey: 'a', skipReason: 'duplicate' }),
				pairedItem: { item: 1 },
			},
		]);
	});
});
