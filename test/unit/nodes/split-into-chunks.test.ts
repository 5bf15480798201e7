import { digest, pageId } from '../../../nodes/shared/contract';
import { items, node, run, submit, v1 } from './split-into-chunks.fixtures';

describe('Split Into Chunks node v1', () => {
	it('describes itself for n8n: versioned, credential, Submit Batch, usable as a tool', () => {
		expect(node.description.name).toBe('splitIntoChunks');
		expect(v1.description.usableAsTool).toBe(true);
		expect(v1.description.credentials).toEqual([{ name: 'batchGuardianApi', required: true }]);
		const operation = v1.description.properties.find((p) => p.name === 'operation');
		expect(operation?.options?.map((o) => (o as { value: string }).value)).toEqual([
			'submitBatch',
			'loop',
			'ranges',
		]);
	});

	it('creates, uploads and seals a batch, and outputs one summary paired with every item', async () => {
		const { output, service, calls, customData } = await run({ items: items(3) });
		expect(
			calls.map((c) => `${c.options.method} ${new URL(String(c.options.url)).pathname}`),
		).toEqual(['POST /v1/batches', 'POST /v1/batches/b-1/items', 'POST /v1/batches/b-1/seal']);
		expect(service.created).toEqual({
			batchKey: 'campaign-1',
			targetUrl: 'http://127.0.0.1:5678/webhook/worker',
			chunkSize: 100,
			concurrency: 4,
			maxAttempts: 5,
			backoff: { initialMs: 1000, maxMs: 300000 },
			priority: 0,
			timeoutMs: 120000,
			inDoubt: 'retry',
		});
		expect(service.pages[0]).toEqual([
			{ key: 'r0', json: { id: 'r0', n: 0 } },
			{ key: 'r1', json: { id: 'r1', n: 1 } },
			{ key: 'r2', json: { id: 'r2', n: 2 } },
		]);
		expect(output).toEqual([
			[
				{
					json: {
						batchId: 'b-1',
						batchKey: 'campaign-1',
						created: true,
						state: 'running',
						counts: { total: 3 },
						items: 3,
						accepted: 3,
						duplicates: 0,
						pages: 1,
						rejected: 0,
					},
					pairedItem: [{ item: 0 }, { item: 1 }, { item: 2 }],
				},
			],
		]);
		expect(customData).toEqual({ batchId: 'b-1' });
	});

	it('passes every option to the service', async () => {
		const { service } = await run({
			items: items(1),
			parameters: submit({
				options: {
					chunkSize: 250,
					concurrency: 8,
					maxAttempts: 3,
					backoffInitialMs: 500,
					backoffMaxMs: 60000,
					failureRatio: 0.2,
					failureMinSample: 50,
					priority: 10,
					limiterKey: 'smtp-relay',
					timeoutMs: 30000,
					milestoneUrl: 'https://example.test/milestone',
				},
			}),
		});
		expect(service.created).toMatchObject({
			chunkSize: 250,
			concurrency: 8,
			maxAttempts: 3,
			backoff: { initialMs: 500, maxMs: 60000 },
			failureThreshold: { ratio: 0.2, minSample: 50 },
			priority: 10,
			limiterKey: 'smtp-relay',
			timeoutMs: 30000,
			milestoneUrl: 'https://example.test/milestone',
		});
	});

	it('uploads a large input in pages bounded by item count', async () => {
		const { output, service } = await run({ items: items(2500) });
		expect(service.pages.map((page) => page.length)).toEqual([1000, 1000, 500]);
		expect(output[0][0].json).toMatchObject({ accepted: 2500, pages: 3, items: 2500 });
		expect((output[0][0].pairedItem as unknown[]).length).toBe(2500);
	});

	it('keeps each page under about 1 MB of JSON', async () => {
		const big = 'x'.repeat(100_000);
		const { service } = await run({ items: items(30, (i) => ({ id: `r${i}`, big })) });
		expect(service.pages.length).toBeGreaterThanOrEqual(3);
		for (const page of service.pages) {
			expect(JSON.stringify({ items: page }).length).toBeLessThanOrEqual(1_000_100);
		}
		expect(service.pages.flat()).toHaveLength(30);
	});

	it('counts duplicate keys as duplicates', async () => {
		const { output } = await run({ items: items(4, (i) => ({ id: `r${i % 2}` })) });
		expect(output[0][0].json).toMatchObject({ accepted: 2, duplicates: 2 });
	});

	it('reads the key from an expression, per item, and from nested fields', async () => {
		const byExpression = await run({
			items: items(2),
			parameters: (i) => submit({ keySource: 'expression', keyValue: `row-${i}` }),
		});
		expect(byExpression.service.pages[0].map((item) => item.key)).toEqual(['row-0', 'row-1']);
		const nested = await run({
			items: items(2, (i) => ({ customer: { no: 100 + i } })),
			parameters: submit({ keyField: 'customer.no' }),
		});
		expect(nested.service.pages[0].map((item) => item.key)).toEqual(['100', '101']);
	});

	it('names each upload page by its index and a digest of its keys', async () => {
		const { calls } = await run({
			items: items(3),
			parameters: submit({ options: { pageSize: 2 } }),
		});
		const pages = calls
			.filter((c) => String(c.options.url).endsWith('/items'))
			.map((c) => (c.options.body as { pageId: string }).pageId);
		expect(pages).toEqual([`0-${digest('r0\nr1')}`, `1-${digest('r2')}`]);
		expect(pages[1]).toBe(pageId(1, ['r2']));
		// The same keys give the same id, so a page sent again after a lost answer is recognised.
		const again = await run({ items: items(3), parameters: submit({ options: { pageSize: 2 } }) });
		expect(again.calls[1].options.body).toMatchObject({ pageId: pages[0] });
	});
});

describe('Split Into Chunks in checkpoint mode', () => {
	it('creates a batch without a worker URL and passes the items through with batchId and itemKey', async () => {
		const input = [
			{ json: { id: 'r0', n: 0 }, binary: { file: { data: 'eA==', mimeType: 'text/plain' } } },
			{ json: { id: 'r1', n: 1 } },
		];
		const { output, service } = await run({
			items: input,
			parameters: submit({ targetUrl: '', outputMode: 'passThrough' }),
		});
		expect(service.created).not.toHaveProperty('targetUrl');
		expect(service.sealed).toBe(true);
		expect(output).toEqual([
			[
				{
					json: { id: 'r0', n: 0, batchId: 'b-1', itemKey: 'r0' },
					binary: input[0].binary,
					pairedItem: { item: 0 },
				},
				{ json: { id: 'r1', n: 1, batchId: 'b-1', itemKey: 'r1' }, pairedItem: { item: 1 } },
			],
		]);
	});

	it('sends the in-doubt policy and the completion URL with the batch', async () => {
		const { service } = await run({
			items: items(1),
			parameters: submit({
				options: { inDoubt: 'hold', completionUrl: 'http://127.0.0.1:5678/webhook/done' },
			}),
		});
		expect(service.created).toMatchObject({
			inDoubt: 'hold',
			completionUrl: 'http://127.0.0.1:5678/webhook/done',
		});
	});
});
