import type { IHttpRequestOptions, INodeExecutionData } from 'n8n-workflow';

import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import { mockContext } from '../../unit/nodes/mock-context';
import { serveApp } from '../batches/helpers';
import { splitIntoChunks } from './live-node';

/**
 * Split Into Chunks -> Submit Batch run again after an earlier run died half way (its batch was
 * then paused): the re-run uploads what the first never sent and seals, deciding from `sealed`,
 * never from `state`; pages the first run did send count once (page ids). Against the real
 * service on real Redis; n8n's side is the unit tests' context.
 */
describe('Submit Batch resumes a batch an earlier run left unsealed (real service, real Redis)', () => {
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	beforeEach(async () => {
		service = createTestService();
		served = await serveApp(service.app);
	});
	afterEach(async () => {
		await served.close();
		await service.cleanup();
	});

	const items: INodeExecutionData[] = Array.from({ length: 1500 }, (_, n) => ({
		json: { id: `rec-${n}`, n },
	}));
	const parameters = {
		operation: 'submitBatch',
		batchKey: 'resume-me',
		targetUrl: '',
		outputMode: 'summary',
		keySource: 'field',
		keyField: 'id',
		options: { pageSize: 500 },
	};

	/** Runs Submit Batch; `dieAfterPages` makes the n8n side fail once that many pages went out. */
	const submit = async (dieAfterPages = Infinity) => {
		let pages = 0;
		const respond = async (req: IHttpRequestOptions) => {
			if (String(req.url).endsWith('/items') && ++pages > dieAfterPages) {
				throw Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
			}
			const response = await fetch(String(req.url), {
				method: req.method,
				headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
				body: req.body === undefined ? undefined : JSON.stringify(req.body),
			});
			const text = await response.text();
			return { statusCode: response.status, body: text ? JSON.parse(text) : undefined };
		};
		const { ctx } = mockContext({
			parameters,
			items,
			credentials: { baseUrl: served.url, apiKey: TEST_API_KEY },
			respond,
		});
		return (await splitIntoChunks.nodeVersions[1].execute!.call(ctx)) as INodeExecutionData[][];
	};

	it('uploads the missing pages of a paused, unsealed batch and seals it; nothing counted twice', async () => {
		await expect(submit(1)).rejects.toThrow();
		const paused = await fetch(`${served.url}/v1/batches/resume-me/pause`, {
			method: 'POST',
			headers: { 'x-api-key': TEST_API_KEY },
		});
		expect(((await paused.json()) as { state: string }).state).toBe('paused');

		const [[summary]] = await submit();
		expect(summary.json).toMatchObject({ batchId: 'resume-me', created: false });
		expect(summary.json.note).toBeUndefined();
		const progress = await (
			await fetch(`${served.url}/v1/batches/resume-me`, { headers: { 'x-api-key': TEST_API_KEY } })
		).json();
		expect(progress).toMatchObject({
			sealed: true,
			state: 'paused',
			counts: { total: 1500, pending: 1500, skipped: 0 },
		});
	});
});
