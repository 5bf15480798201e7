import { TEST_API_KEY } from '../../harness/service';
import { startSink, type Sink } from '../batches/helpers';
import { liveService, splitIntoChunks, type LiveService } from './live-node';

/**
 * Split Into Chunks > Submit Batch with Options > Adaptive Chunk Size, against the real service
 * and its dispatcher: a worker that takes 20 ms an item makes the next chunks about a second.
 */
describe('Submit Batch with an adaptive chunk size (real service, real Redis)', () => {
	jest.setTimeout(40_000);
	let live: LiveService;
	let sink: Sink;
	beforeEach(async () => {
		live = await liveService({ dispatcher: true });
		sink = await startSink((dispatch) => ({ delayMs: dispatch.items.length * 20 }));
	});
	afterEach(async () => {
		await live.close();
		await sink.close();
	});

	it('sizes the next chunks from how long the worker took, and Batch Status shows it', async () => {
		const items = Array.from({ length: 400 }, (_, n) => ({ json: { id: `a-${n}`, n } }));
		const [[summary]] = await live.run(splitIntoChunks, {
			parameters: {
				operation: 'submitBatch',
				batchKey: 'adaptive',
				targetUrl: sink.url,
				keySource: 'field',
				keyField: 'id',
				outputMode: 'summary',
				options: {
					chunkSize: 10,
					concurrency: 1,
					adaptiveChunkSize: { settings: { targetSeconds: 1, min: 5, max: 200 } },
				},
			},
			items,
		});
		expect(summary.json).toMatchObject({ batchId: 'adaptive', accepted: 400 });
		const deadline = Date.now() + 30_000;
		let progress: { state: string; chunkSize: Record<string, unknown> };
		do {
			await new Promise((resolve) => setTimeout(resolve, 250));
			const answer = await fetch(`${live.url}/v1/batches/adaptive`, {
				headers: { 'x-api-key': TEST_API_KEY },
			});
			progress = (await answer.json()) as typeof progress;
		} while (progress.state !== 'completed' && Date.now() < deadline);
		expect(progress.state).toBe('completed');
		expect(progress.chunkSize).toMatchObject({ configured: 10, adaptive: true });
		expect(progress.chunkSize.changes).toBeGreaterThan(0);
		// 20 ms an item and a target of 1 s: chunks grew from 10 towards 50.
		const sizes = sink.dispatches.map((dispatch) => dispatch.items.length);
		expect(sizes[0]).toBe(10);
		expect(Math.max(...sizes)).toBeGreaterThanOrEqual(30);
		expect(Math.max(...sizes)).toBeLessThanOrEqual(200);
	});
});
