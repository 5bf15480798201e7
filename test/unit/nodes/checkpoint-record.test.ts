import type { IHttpRequestOptions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { Checkpoint } from '../../../nodes/Checkpoint/Checkpoint.node';
import { failureOf } from '../../../nodes/Checkpoint/v1/helpers/failure';
import { mockContext, type MockContextOptions } from './mock-context';

const v1 = new Checkpoint().nodeVersions[1];

type Output = Array<
	Array<{ json: Record<string, unknown>; pairedItem?: unknown; error?: unknown }>
>;

const recordParameters =
	(keys: string[], extra: Record<string, unknown> = {}) =>
	(i: number) => ({
		operation: 'recordResults',
		batchId: 'b-1',
		itemKey: keys[i],
		lease: 'lease-7',
		chunkIndex: '0',
		status: 'auto',
		options: {},
		...extra,
	});

type Result = { key: string; status: string; error?: Record<string, unknown> };

const recordAnswer = (req: IHttpRequestOptions) => {
	const results = (req.body as { results: Result[] }).results;
	return {
		statusCode: 200,
		body: {
			succeeded: results.filter((r) => r.status === 'succeeded').length,
			retryScheduled: results.filter((r) => r.error?.transient !== false && r.status === 'failed')
				.length,
			deadLettered: 0,
			ignored: results
				.filter((r) => r.key.startsWith('stale'))
				.map((r) => ({ key: r.key, reason: 'stale_lease' })),
		},
	};
};

async function run(options: MockContextOptions) {
	const context = mockContext(options);
	const output = (await v1.execute!.call(context.ctx)) as Output;
	return { output, ...context };
}

/** What an HTTP Request 4.x error output gives Record Results: the claimed item merged with the error. */
const httpErrorItem = (key: string, status: number, headers: Record<string, string> = {}) => ({
	json: {
		key,
		error: {
			message: `Request failed with status code ${status}`,
			status,
			response: { status, headers },
		},
		details: { message: `${status} - "sink says no"`, httpCode: String(status) },
	},
});

describe('Checkpoint Record Results', () => {
	it('records successes and n8n-shaped failures of all items in one request', async () => {
		const keys = ['ok-1', 'cof-1', 'http-1', 'stale-1'];
		const items = [
			{ json: { sent: true } },
			{ json: { error: 'connect ECONNRESET 127.0.0.1:9' } },
			httpErrorItem('http-1', 503, { 'retry-after': '2' }),
			{ json: { sent: true } },
		];
		const { output, calls, customData } = await run({
			items,
			parameters: recordParameters(keys),
			respond: recordAnswer,
		});
		expect(calls).toHaveLength(1);
		expect(calls[0].options).toMatchObject({
			method: 'POST',
			url: 'http://service.test:3030/v1/batches/b-1/results',
		});
		expect(calls[0].options.body).toEqual({
			lease: 'lease-7',
			execution: { id: 'exec-1', workflowId: 'wf-1' },
			results: [
				{ key: 'ok-1', status: 'succeeded' },
				{ key: 'cof-1', status: 'failed', error: { message: 'connect ECONNRESET 127.0.0.1:9' } },
				{
					key: 'http-1',
					status: 'failed',
					error: {
						message: 'Request failed with status code 503',
						httpCode: 503,
						class: 'http_503',
						retryAfterMs: 2000,
					},
				},
				{ key: 'stale-1', status: 'succeeded' },
			],
		});
		expect(output).toHaveLength(1);
		expect(
			output[0].map((i) => [i.json.key, i.json.status, i.json.recorded, i.pairedItem]),
		).toEqual([
			['ok-1', 'succeeded', true, { item: 0 }],
			['cof-1', 'failed', true, { item: 1 }],
			['http-1', 'failed', true, { item: 2 }],
			['stale-1', 'succeeded', false, { item: 3 }],
		]);
		expect(output[0][3].json.ignoredReason).toBe('stale_lease');
		expect(output[0][2].json.failure).toMatchObject({ class: 'http_503' });
		expect(customData).toEqual({ batchId: 'b-1', chunkIndex: '0' });
	});

	it('can force the status, the error class and a permanent failure', async () => {
		const { calls } = await run({
			items: [{ json: {} }],
			parameters: recordParameters(['a'], {
				status: 'failed',
				options: { errorClass: 'invalid_recipient', transient: 'permanent' },
			}),
			respond: recordAnswer,
		});
		expect((calls[0].options.body as { results: Result[] }).results).toEqual([
			{
				key: 'a',
				status: 'failed',
				error: {
					message: 'Marked as failed by the Checkpoint node',
					class: 'invalid_recipient',
					transient: false,
				},
			},
		]);
		const forced = await run({
			items: [{ json: { error: 'ignored' } }],
			parameters: recordParameters(['a'], { status: 'succeeded' }),
			respond: recordAnswer,
		});
		expect((forced.calls[0].options.body as { results: Result[] }).results).toEqual([
			{ key: 'a', status: 'succeeded' },
		]);
	});

	it('records 150 items with a single request and no lease when none is given', async () => {
		const keys = Array.from({ length: 150 }, (_, i) => `k${i}`);
		const { calls, output } = await run({
			items: keys.map(() => ({ json: {} })),
			parameters: recordParameters(keys, { lease: '' }),
			respond: recordAnswer,
		});
		expect(calls).toHaveLength(1);
		expect(calls[0].options.body).not.toHaveProperty('lease');
		expect(output[0]).toHaveLength(150);
	});

	it('names the bad item, or emits it as an error entry with Continue On Fail', async () => {
		const keys = ['a', 'no spaces please'];
		const items = [{ json: {} }, { json: {} }];
		const { ctx, calls } = mockContext({
			items,
			parameters: recordParameters(keys),
			respond: recordAnswer,
		});
		await expect(v1.execute!.call(ctx)).rejects.toMatchObject({
			message: "'Item Key' is not a valid id: 'no spaces please'",
			context: expect.objectContaining({ itemIndex: 1 }),
		});
		expect(calls).toHaveLength(0);
		const { output } = await run({
			continueOnFail: true,
			items,
			parameters: recordParameters(keys),
			respond: recordAnswer,
		});
		expect(
			output[0].map((i) => [
				i.json.key ?? null,
				i.error instanceof NodeOperationError,
				i.pairedItem,
			]),
		).toEqual([
			['a', false, { item: 0 }],
			[null, true, { item: 1 }],
		]);
	});

	it('turns a service failure into a NodeApiError, or per-item errors with Continue On Fail', async () => {
		const respond = () => ({
			statusCode: 401,
			body: { error: { code: 'invalid_api_key', message: 'Invalid API key' } },
		});
		const items = [{ json: {} }, { json: {} }];
		const { ctx } = mockContext({ items, parameters: recordParameters(['a', 'b']), respond });
		await expect(v1.execute!.call(ctx)).rejects.toMatchObject({
			httpCode: '401',
			message: 'The Batch Guardian service refused the API key',
		});
		const { output } = await run({
			continueOnFail: true,
			items,
			parameters: recordParameters(['a', 'b']),
			respond,
		});
		expect(output[0]).toHaveLength(2);
		expect(
			output[0].every((i) => i.error instanceof NodeApiError && i.json.httpCode === '401'),
		).toBe(true);
	});
});

describe('Checkpoint Record Results: released items and the output', () => {
	const progress = { batchId: 'b-1', state: 'running', percent: 40 };
	const answer = () => ({
		statusCode: 200,
		body: { succeeded: 1, released: 2, ignored: [], progress },
	});

	it("releases items from Rate Limit's Limited output with their retryAfterMs", async () => {
		const keys = ['sent', 'limited', 'refused'];
		const items = [
			{ json: { ok: true } },
			{ json: { itemKey: 'limited', retryAfterMs: 1500 } },
			// Wait for Capacity under Continue On Fail: refused, never worked.
			{ json: { itemKey: 'refused', retryAfterMs: 99.2, error: 'No capacity on limiter' } },
		];
		const { calls, output } = await run({
			items,
			parameters: recordParameters(keys, { lease: '', chunkIndex: '' }),
			respond: answer,
		});
		expect((calls[0].options.body as { results: Result[] }).results).toEqual([
			{ key: 'sent', status: 'succeeded' },
			{ key: 'limited', status: 'released', retryAfterMs: 1500 },
			{ key: 'refused', status: 'released', retryAfterMs: 100 },
		]);
		expect(output[0][1].json).toMatchObject({ status: 'released', retryAfterMs: 1500 });
	});

	it('can release every item, and refuses a retryAfterMs beyond the contract', async () => {
		const { calls } = await run({
			items: [{ json: {} }],
			parameters: recordParameters(['a'], { status: 'released' }),
			respond: answer,
		});
		expect((calls[0].options.body as { results: Result[] }).results).toEqual([
			{ key: 'a', status: 'released' },
		]);
		const { ctx } = mockContext({
			items: [{ json: { retryAfterMs: 90_000_000 } }],
			parameters: recordParameters(['a']),
			respond: answer,
		});
		await expect(v1.execute!.call(ctx)).rejects.toThrow(
			"'Retry After (ms)' must be a whole number from 0 to 86400000",
		);
	});

	it('takes the chunk index from the service when the items carry none', async () => {
		const { output } = await run({
			items: [{ json: {} }],
			parameters: recordParameters(['a'], { chunkIndex: '' }),
			respond: () => ({ statusCode: 200, body: { chunkIndexes: [7], ignored: [], progress } }),
		});
		expect(output[0][0].json).toMatchObject({ batchId: 'b-1', chunkIndex: 7, progress });
	});

	it('starts each output item with the batch ID, the chunk index and the progress', async () => {
		const { output } = await run({
			items: [{ json: {} }, { json: { error: 'boom' } }],
			parameters: recordParameters(['a', 'b'], { chunkIndex: '4' }),
			respond: answer,
		});
		expect(Object.keys(output[0][0].json).slice(0, 3)).toEqual([
			'batchId',
			'chunkIndex',
			'progress',
		]);
		expect(output[0].map((i) => [i.json.batchId, i.json.chunkIndex, i.json.progress])).toEqual([
			['b-1', 4, progress],
			['b-1', 4, progress],
		]);
	});
});

describe('failureOf: failure info from the shapes n8n gives failed items', () => {
	it.each([
		[{ sent: true }, undefined],
		[{ error: null }, undefined],
		[{ error: '' }, undefined],
		[{ error: 'boom' }, { message: 'boom' }],
		[
			{ error: { message: 'Bad request', httpCode: '422', description: 'unknown recipient' } },
			{ message: 'Bad request: unknown recipient', httpCode: 422, class: 'http_422' },
		],
		[
			{
				error: {
					message: 'Too many',
					response: { statusCode: 429, headers: { 'Retry-After': '1.5' } },
				},
			},
			{ message: 'Too many', httpCode: 429, class: 'http_429', retryAfterMs: 1500 },
		],
		[{ error: { code: 'ECONNREFUSED' } }, { message: '{"code":"ECONNREFUSED"}' }],
	])('%j -> %j', (json, expected) => {
		expect(failureOf(json as never)).toEqual(expected);
	});

	it('reads Retry-After given as an HTTP date', () => {
		const at = new Date(Date.now() + 10_000).toUTCString();
		const failure = failureOf({
			error: { message: 'x', status: 503, response: { headers: { 'retry-after': at } } },
		});
		expect(failure?.retryAfterMs).toBeGreaterThan(5000);
		expect(failure?.retryAfterMs).toBeLessThanOrEqual(10_000);
	});
});
