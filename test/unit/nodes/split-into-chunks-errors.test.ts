import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { fakeBatchService } from './fake-service';
import { mockContext } from './mock-context';
import { items, run, submit, v1, type Output } from './split-into-chunks.fixtures';

describe('Split Into Chunks: bad input never leaves a half-written batch', () => {
	it('names the item whose key is missing, before any request', async () => {
		const service = fakeBatchService();
		const { ctx, calls } = mockContext({
			parameters: submit(),
			items: [{ json: { id: 'a' } }, { json: { name: 'no id' } }],
			respond: service.respond,
		});
		const failing = v1.execute!.call(ctx);
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toMatchObject({
			message: "Item 1 has no key in the field 'id'",
			context: expect.objectContaining({ itemIndex: 1 }),
		});
		expect(calls).toHaveLength(0);
	});

	it('falls back to a hash of the item json when asked; equal items are duplicates', async () => {
		const { service, output } = await run({
			items: [{ json: { a: 1 } }, { json: { a: 1 } }, { json: { a: 2 } }],
			parameters: submit({ options: { onMissingKey: 'hashItem' } }),
		});
		const keys = service.pages[0].map((item) => item.key);
		expect(keys[0]).toMatch(/^h-[0-9a-f]{40}$/);
		expect(keys[0]).toBe(keys[1]);
		expect(keys[2]).not.toBe(keys[0]);
		expect(output[0][0].json).toMatchObject({ accepted: 2, duplicates: 1 });
	});

	it('refuses keys the service cannot store, pointing at Hash Keys; Hash Keys accepts them', async () => {
		const mails = [{ json: { id: 'ann@example.com' } }];
		const { ctx } = mockContext({
			parameters: submit(),
			items: mails,
			respond: () => ({ statusCode: 500, body: {} }),
		});
		await expect(v1.execute!.call(ctx)).rejects.toMatchObject({
			message: "Item 0 has a key the service cannot store: 'ann@example.com'",
			description: expect.stringMatching(/Hash Keys/),
		});
		const hashed = await run({ items: mails, parameters: submit({ options: { hashKeys: true } }) });
		expect(hashed.service.pages[0][0].key).toMatch(/^h-[0-9a-f]{40}$/);
	});

	it('refuses an object as a key', async () => {
		const { ctx } = mockContext({
			parameters: submit(),
			items: [{ json: { id: { nested: true } } }],
			respond: () => ({ statusCode: 500, body: {} }),
		});
		await expect(v1.execute!.call(ctx)).rejects.toMatchObject({
			description: expect.stringMatching(/not an object or list/),
		});
	});

	it('refuses an item over the per-item size limit', async () => {
		const { ctx } = mockContext({
			parameters: submit(),
			items: [{ json: { id: 'big', blob: 'x'.repeat(1_100_000) } }],
			respond: () => ({ statusCode: 500, body: {} }),
		});
		await expect(v1.execute!.call(ctx)).rejects.toThrow(/Item 0 is \d+ bytes of JSON/);
	});

	it.each([
		[{ options: { chunkSize: 0 } }, "'Chunk Size' must be a whole number from 1 to 10000, got 0"],
		[
			{ options: { chunkSize: 2.5 } },
			"'Chunk Size' must be a whole number from 1 to 10000, got 2.5",
		],
		[{ options: { concurrency: 5000 } }, "'Concurrency' must be a whole number from 1 to 1000"],
		[
			{ options: { failureRatio: 1.5 } },
			"'Failure Threshold Ratio' must be a number from 0 to 1, got 1.5",
		],
		[{ options: { failureRatio: -0.1 } }, "'Failure Threshold Ratio' must be a number from 0 to 1"],
		[{ options: { priority: 101 } }, "'Priority' must be a whole number from 0 to 100"],
		[
			{ options: { backoffInitialMs: 5000, backoffMaxMs: 1000 } },
			"'Backoff Max (ms)' (1000) must not be below",
		],
		[
			{ options: { milestoneUrl: 'not a url' } },
			"'Milestone Notification URL' must be an http(s) URL",
		],
		[{ options: { limiterKey: 'has spaces' } }, "'Limiter Key' is not a valid id"],
		[
			{ targetUrl: 'ftp://example.test/x' },
			"'Worker Webhook URL' must be an http(s) URL, got 'ftp://example.test/x'",
		],
		[{ options: { inDoubt: 'sometimes' } }, "'In-Doubt Policy' must be retry or hold"],
		[{ options: { completionUrl: 'mailto:x' } }, "'Completion URL' must be an http(s) URL"],
		[{ batchKey: '' }, "'Batch Key' is empty"],
		[{ options: { pageSize: 0 } }, "'Upload Page Size' must be a whole number from 1 to 10000"],
	])('refuses %j with a clear message and no request', async (parameters, message) => {
		const { ctx, calls } = mockContext({
			parameters: submit(parameters),
			items: items(2),
			respond: () => ({ statusCode: 500, body: {} }),
		});
		const failing = v1.execute!.call(ctx);
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toThrow(message);
		expect(calls).toHaveLength(0);
	});
});

describe('Split Into Chunks: Continue On Fail and service answers', () => {
	it('submits the good items and emits each bad one as its own error entry', async () => {
		const { output, service } = await run({
			continueOnFail: true,
			items: [{ json: { id: 'a' } }, { json: { name: 'no id' } }, { json: { id: 'c' } }],
		});
		expect(service.pages[0].map((item) => item.key)).toEqual(['a', 'c']);
		expect(output[0]).toHaveLength(2);
		expect(output[0][0]).toMatchObject({
			json: { batchId: 'b-1', accepted: 2, rejected: 1 },
			pairedItem: [{ item: 0 }, { item: 2 }],
		});
		expect(output[0][1]).toEqual({
			json: {
				name: 'no id',
				error: "Item 1 has no key in the field 'id'",
				errorDescription: expect.any(String),
			},
			error: expect.any(NodeOperationError),
			pairedItem: { item: 1 },
		});
	});

	it('with Continue On Fail, a bad setting fails every item, before any request', async () => {
		const { output, calls } = await run({
			continueOnFail: true,
			items: items(2),
			parameters: submit({ options: { chunkSize: -1 } }),
		});
		expect(calls).toHaveLength(0);
		expect(output[0]).toEqual(
			[0, 1].map((item) =>
				expect.objectContaining({
					json: expect.objectContaining({
						id: `r${item}`,
						error: expect.stringMatching(/'Chunk Size'/),
					}),
					pairedItem: { item },
				}),
			),
		);
	});

	it('turns a service failure into a NodeApiError, or error items with Continue On Fail', async () => {
		const respond = () => ({
			statusCode: 503,
			body: { error: { code: 'not_ready', message: 'Redis is unreachable' } },
		});
		const { ctx } = mockContext({ parameters: submit(), items: items(2), respond });
		await expect(v1.execute!.call(ctx)).rejects.toBeInstanceOf(NodeApiError);
		const soft = mockContext({
			parameters: submit(),
			items: items(2),
			respond,
			continueOnFail: true,
		});
		const output = (await v1.execute!.call(soft.ctx)) as Output;
		expect(output[0]).toEqual(
			[0, 1].map((item) => ({
				json: expect.objectContaining({ error: 'Redis is unreachable', httpCode: '503' }),
				error: expect.any(NodeApiError),
				pairedItem: { item },
			})),
		);
	});

	// Issue 7, defect 1: `state` says nothing about whether every item is in; only `sealed` does.
	it.each([
		[{ state: 'running', sealed: true }, []],
		[{ state: 'paused', sealed: true }, []],
		[{ state: 'paused', sealed: false }, ['/v1/batches/b-1/items']],
		[{ state: 'running', sealed: false }, ['/v1/batches/b-1/items']],
		[{ state: 'open', sealed: false }, ['/v1/batches/b-1/items']],
	])(
		'uploads into an existing %j batch only if unsealed, then seals it',
		async (existing, upload) => {
			const service = fakeBatchService(existing);
			const { ctx, calls } = mockContext({
				parameters: submit(),
				items: items(3),
				respond: service.respond,
			});
			const output = (await v1.execute!.call(ctx)) as Output;
			expect(calls.map((c) => new URL(String(c.options.url)).pathname)).toEqual([
				'/v1/batches',
				...upload,
				'/v1/batches/b-1/seal',
			]);
			expect(service.sealed).toBe(true);
			expect(output[0][0].json).toMatchObject({ created: false, accepted: upload.length ? 3 : 0 });
			expect(output[0][0].json.note !== undefined).toBe(existing.sealed);
		},
	);
});
