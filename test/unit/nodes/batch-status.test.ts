import { NodeApiError, NodeOperationError } from 'n8n-workflow';

import { BatchStatus } from '../../../nodes/BatchStatus/BatchStatus.node';
import { mockContext, transportFailure } from './mock-context';

const node = new BatchStatus();
const v1 = node.nodeVersions[1];

async function run(options: Parameters<typeof mockContext>[0]) {
	const { ctx, calls } = mockContext(options);
	const output = await v1.execute!.call(ctx);
	return {
		output: output as Array<Array<{ json: Record<string, unknown>; pairedItem?: unknown }>>,
		calls,
	};
}

describe('Batch Status node v1', () => {
	it('describes itself for n8n: versioned, credential, Get operation', () => {
		expect(node.description.name).toBe('batchStatus');
		expect(v1.description.credentials).toEqual([{ name: 'batchGuardianApi', required: true }]);
		const operation = v1.description.properties.find((p) => p.name === 'operation');
		expect(operation?.options?.map((o) => (o as { value: string }).value)).toContain('get');
	});

	it('Get reads the batch from the service, with the credential, once per item', async () => {
		const { output, calls } = await run({
			parameters: [
				{ operation: 'get', batchId: 'b-1' },
				{ operation: 'get', batchId: 'b:2' },
			],
			items: [{ json: {} }, { json: {} }],
			respond: (req) => ({
				statusCode: 200,
				body: { batchId: String(req.url).split('/').pop(), state: 'running' },
			}),
		});
		expect(calls.map((c) => [c.credentialType, c.options.method, c.options.url])).toEqual([
			['batchGuardianApi', 'GET', 'http://service.test:3030/v1/batches/b-1'],
			['batchGuardianApi', 'GET', 'http://service.test:3030/v1/batches/b%3A2'],
		]);
		expect(output[0].map((i) => i.pairedItem)).toEqual([{ item: 0 }, { item: 1 }]);
		expect(output[0][0].json).toMatchObject({ batchId: 'b-1', state: 'running' });
	});

	it('turns a 401 into an error about the API key', async () => {
		const failing = run({
			parameters: { operation: 'get', batchId: 'b-1' },
			respond: () => ({
				statusCode: 401,
				body: { error: { code: 'invalid_api_key', message: 'Invalid API key' } },
			}),
		});
		await expect(failing).rejects.toBeInstanceOf(NodeApiError);
		await expect(failing).rejects.toMatchObject({
			message: 'The Batch Guardian service refused the API key',
			description: expect.stringMatching(/API Key of the 'Batch Guardian API' credential/),
			httpCode: '401',
		});
	});

	it('passes the service message of a 404 through', async () => {
		await expect(
			run({
				parameters: { operation: 'get', batchId: 'missing' },
				respond: () => ({
					statusCode: 404,
					body: { error: { code: 'not_found', message: "No batch 'missing'" } },
				}),
			}),
		).rejects.toMatchObject({ message: "No batch 'missing'", httpCode: '404' });
	});

	it('explains an unreachable service', async () => {
		await expect(
			run({
				parameters: { operation: 'get', batchId: 'b-1' },
				respond: () => transportFailure('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:3030'),
			}),
		).rejects.toMatchObject({
			message: 'Could not reach the Batch Guardian service at http://service.test:3030',
			description: expect.stringMatching(/Start the service \(npm run service\)/),
		});
	});

	it.each([
		['', /'Batch ID' is empty/],
		['bad id with spaces', /'Batch ID' is not a valid id/],
	])('refuses Batch ID %p before calling the service', async (batchId, message) => {
		const { ctx, calls } = mockContext({
			parameters: { operation: 'get', batchId },
			respond: () => ({ statusCode: 200, body: {} }),
		});
		const failing = v1.execute!.call(ctx);
		await expect(failing).rejects.toBeInstanceOf(NodeOperationError);
		await expect(failing).rejects.toThrow(message);
		expect(calls).toHaveLength(0);
	});

	it('with Continue On Fail, keeps going and emits the error on the failed item only', async () => {
		const { output } = await run({
			continueOnFail: true,
			parameters: [
				{ operation: 'get', batchId: 'ok' },
				{ operation: 'get', batchId: 'gone' },
			],
			items: [{ json: {} }, { json: {} }],
			respond: (req) =>
				String(req.url).endsWith('/gone')
					? { statusCode: 404, body: { error: { message: "No batch 'gone'" } } }
					: { statusCode: 200, body: { batchId: 'ok' } },
		});
		expect(output[0]).toEqual([
			{ json: { batchId: 'ok' }, pairedItem: { item: 0 } },
			{
				json: expect.objectContaining({ error: "No batch 'gone'", httpCode: '404' }),
				// On the entry itself too: n8n routes it to the error output by that.
				error: expect.any(NodeApiError),
				pairedItem: { item: 1 },
			},
		]);
	});
});
