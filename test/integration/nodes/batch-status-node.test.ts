import { BatchStatus } from '../../../nodes/BatchStatus/BatchStatus.node';
import { checkpoint, liveService, splitIntoChunks, type LiveService } from './live-node';

/**
 * Batch Status > Get with Include Unfinished Chunks, against the real service: the chunks with
 * items left, each with the n8n execution that claimed it (what Checkpoint sends as $execution.id
 * and the workflow id; the test context's are exec-1 and wf-1).
 */
describe('Batch Status > Get with its unfinished chunks (real service, real Redis)', () => {
	const batchStatus = new BatchStatus();
	let live: LiveService;
	beforeEach(async () => {
		live = await liveService();
	});
	afterEach(async () => {
		await live.close();
	});

	it('lists the chunks with items left and the execution that worked each', async () => {
		const items = Array.from({ length: 6 }, (_, n) => ({ json: { id: `s-${n}` } }));
		await live.run(splitIntoChunks, {
			parameters: {
				operation: 'submitBatch',
				batchKey: 'status-chunks',
				targetUrl: '',
				keySource: 'field',
				keyField: 'id',
				outputMode: 'summary',
				options: { chunkSize: 2 },
			},
			items,
		});
		// Chunk 1 is claimed by this execution; chunks 0 and 2 are not touched.
		await live.run(checkpoint, {
			parameters: (i) => ({
				operation: 'claim',
				batchId: 'status-chunks',
				itemKey: `s-${2 + i}`,
				lease: '',
				chunkIndex: 1,
				options: {},
			}),
			items: [{ json: {} }, { json: {} }],
		});

		const get = (includeChunks?: boolean) =>
			live.run(batchStatus, {
				parameters: {
					operation: 'get',
					batchId: 'status-chunks',
					...(includeChunks === undefined ? {} : { includeChunks }),
				},
				items: [{ json: {} }],
			});
		const [[plain]] = await get();
		expect(plain.json).toMatchObject({ batchId: 'status-chunks', counts: { total: 6 } });
		expect(plain.json.unfinishedChunks).toBeUndefined();

		const [[withChunks]] = await get(true);
		const chunks = withChunks.json.unfinishedChunks as Array<{
			chunkIndex: number;
			left: number;
			executions: Array<{ id: string; workflowId: string }>;
		}>;
		expect(chunks.map((chunk) => [chunk.chunkIndex, chunk.left])).toEqual([
			[0, 2],
			[1, 2],
			[2, 2],
		]);
		expect(chunks[1].executions).toEqual([
			expect.objectContaining({ id: 'exec-1', workflowId: 'wf-1' }),
		]);
		expect(chunks[0].executions).toEqual([]);
		expect(withChunks.json.moreUnfinishedChunks).toBe(false);
		expect(withChunks.json).toMatchObject({ counts: { total: 6, inFlight: 2 } });
	});
});
