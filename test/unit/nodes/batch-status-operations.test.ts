import type { IHttpRequestOptions } from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { BatchStatus } from '../../../nodes/BatchStatus/BatchStatus.node';
import { mockContext, type MockContextOptions } from './mock-context';

const v1 = new BatchStatus().nodeVersions[1];

type Output = Array<
	Array<{ json: Record<string, unknown>; pairedItem?: unknown; error?: unknown }>
>;

async function run(options: MockContextOptions) {
	const context = mockContext(options);
	const output = (await v1.execute!.call(context.ctx)) as Output;
	return { output, ...context };
}

const route = (req: IHttpRequestOptions) => `${req.method} ${new URL(String(req.url)).pathname}`;

describe('Batch Status operations', () => {
	it('offers every operation of the spec', () => {
		const operation = v1.description.properties.find((p) => p.name === 'operation');
		expect(operation?.options?.map((o) => (o as { value: string }).value).sort()).toEqual(
			[
				'cancel',
				'finalReport',
				'get',
				'list',
				'pause',
				'resume',
				'retryDeadLetters',
				'waitForCompletion',
			].sort(),
		);
	});

	it.each([
		['pause', 'POST /v1/batches/b-1/pause'],
		['resume', 'POST /v1/batches/b-1/resume'],
		['cancel', 'POST /v1/batches/b-1/cancel'],
		['finalReport', 'GET /v1/batches/b-1/report'],
	])('%s calls %s and outputs the answer', async (operation, expected) => {
		const { output, calls } = await run({
			parameters: { operation, batchId: 'b-1' },
			respond: () => ({ statusCode: 200, body: { batchId: 'b-1', state: 'paused' } }),
		});
		expect(calls.map((c) => route(c.options))).toEqual([expected]);
		expect(output[0]).toEqual([
			{ json: { batchId: 'b-1', state: 'paused' }, pairedItem: { item: 0 } },
		]);
	});

	it('Retry Dead Letters retries all, or one error class', async () => {
		const respond = () => ({ statusCode: 200, body: { batchId: 'b-1', retried: 3 } });
		const all = await run({
			parameters: { operation: 'retryDeadLetters', batchId: 'b-1', errorClass: '' },
			respond,
		});
		expect(all.calls[0].options).toMatchObject({ method: 'POST', body: {} });
		expect(route(all.calls[0].options)).toBe('POST /v1/batches/b-1/dead-letters/retry');
		expect(all.output[0][0].json).toEqual({ batchId: 'b-1', errorClass: null, retried: 3 });
		const one = await run({
			parameters: { operation: 'retryDeadLetters', batchId: 'b-1', errorClass: 'http_503' },
			respond,
		});
		expect(one.calls[0].options.body).toEqual({ errorClass: 'http_503' });
		await expect(
			run({
				parameters: { operation: 'retryDeadLetters', batchId: 'b-1', errorClass: 'bad class' },
				respond,
			}),
		).rejects.toThrow("'Error Class' is not a valid id");
	});

	it('List outputs one item per batch, with state and limit', async () => {
		const { output, calls } = await run({
			parameters: { operation: 'list', state: 'running', returnAll: false, limit: 2 },
			respond: () => ({
				statusCode: 200,
				body: { batches: [{ batchId: 'x' }, { batchId: 'y' }], nextCursor: 'c1' },
			}),
		});
		expect(calls).toHaveLength(1);
		expect(calls[0].options.qs).toEqual({ limit: 2, state: 'running' });
		expect(output[0]).toEqual([
			{ json: { batchId: 'x' }, pairedItem: { item: 0 } },
			{ json: { batchId: 'y' }, pairedItem: { item: 0 } },
		]);
	});

	it('List with Return All follows the cursor to the end', async () => {
		const { output, calls } = await run({
			parameters: { operation: 'list', state: '', returnAll: true },
			respond: (req) => {
				const page = Number((req.qs?.cursor as string | undefined) ?? 0);
				return {
					statusCode: 200,
					body: {
						batches: [{ batchId: `p${page}` }],
						nextCursor: page < 2 ? String(page + 1) : null,
					},
				};
			},
		});
		expect(calls.map((c) => c.options.qs)).toEqual([
			{ limit: 100 },
			{ limit: 100, cursor: '1' },
			{ limit: 100, cursor: '2' },
		]);
		expect(output[0].map((i) => i.json.batchId)).toEqual(['p0', 'p1', 'p2']);
	});

	it('List with Return All stops after a bounded number of pages', async () => {
		const { calls } = await run({
			parameters: { operation: 'list', returnAll: true },
			respond: () => ({ statusCode: 200, body: { batches: [], nextCursor: 'again' } }),
		});
		expect(calls).toHaveLength(100);
	});
});

describe('Batch Status: Wait for Completion', () => {
	const waitParameters = (extra: Record<string, unknown> = {}) => ({
		operation: 'waitForCompletion',
		batchId: 'b-1',
		maxWaitSeconds: 300,
		failOnTimeout: false,
		...extra,
	});

	it('long-polls the service, at most 60 s a request, until the batch is done', async () => {
		let polls = 0;
		const { output, calls } = await run({
			parameters: waitParameters(),
			respond: () => {
				polls++;
				return {
					statusCode: 200,
					body: {
						done: polls === 3,
						progress: { batchId: 'b-1', state: polls === 3 ? 'completed' : 'running' },
					},
				};
			},
		});
		expect(calls).toHaveLength(3);
		for (const call of calls) {
			expect(route(call.options)).toBe('GET /v1/batches/b-1/wait');
			expect(call.options.qs).toEqual({ timeoutMs: 60000 });
			// The HTTP timeout leaves room beyond the service's own hold.
			expect(call.options.timeout).toBeGreaterThan(60000);
		}
		expect(output[0][0].json).toMatchObject({ batchId: 'b-1', state: 'completed', done: true });
	});

	it('asks for no more than the max wait, and is bounded when the service answers early', async () => {
		const { output, calls } = await run({
			parameters: waitParameters({ maxWaitSeconds: 1 }),
			respond: () => ({
				statusCode: 200,
				body: { done: false, progress: { batchId: 'b-1', state: 'running', percent: 40 } },
			}),
		});
		expect(calls.length).toBeGreaterThanOrEqual(1);
		expect(calls.length).toBeLessThanOrEqual(2);
		expect(calls[0].options.qs).toEqual({ timeoutMs: 1000 });
		expect(output[0][0].json).toMatchObject({ done: false, state: 'running' });
	});

	it('fails on timeout when asked, saying where the batch stands', async () => {
		const failing = run({
			parameters: waitParameters({ maxWaitSeconds: 1, failOnTimeout: true }),
			respond: () => ({
				statusCode: 200,
				body: { done: false, progress: { state: 'running', percent: 40 } },
			}),
		});
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toMatchObject({
			message: "Batch 'b-1' did not finish within 1 s",
			description: expect.stringMatching(/running at 40 %/),
		});
	});

	it.each([0, 86401, 'soon'])('refuses Max Wait %p', async (maxWaitSeconds) => {
		await expect(
			run({
				parameters: waitParameters({ maxWaitSeconds }),
				respond: () => ({ statusCode: 200, body: {} }),
			}),
		).rejects.toThrow(/'Max Wait \(Seconds\)' must be a whole number from 1 to 86400/);
	});

	it('with Continue On Fail, a failing item becomes an error the error output can take', async () => {
		const { output } = await run({
			continueOnFail: true,
			items: [{ json: {} }, { json: {} }],
			parameters: [waitParameters(), waitParameters({ batchId: 'gone' })],
			respond: (req) =>
				String(req.url).includes('/gone/')
					? { statusCode: 404, body: { error: { message: "No batch 'gone'" } } }
					: { statusCode: 200, body: { done: true, progress: { batchId: 'b-1' } } },
		});
		expect(output[0][0]).toMatchObject({
			json: { batchId: 'b-1', done: true },
			pairedItem: { item: 0 },
		});
		expect(output[0][1]).toMatchObject({
			json: { error: "No batch 'gone'" },
			pairedItem: { item: 1 },
		});
		expect(output[0][1].error).toBeInstanceOf(NodeApiError);
	});
});
