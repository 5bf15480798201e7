import { createTestService, type TestService } from '../../harness/service';
import { api, items } from './helpers';

/**
 * Found while writing the ETL kill test: GET /v1/batches/:id/chunks listed the chunks a dispatched
 * batch has not cut yet (they are cut lazily, a window ahead) as { items: 0, left: 0 }, which reads
 * exactly like a finished chunk. It lists the chunks cut so far.
 */
describe('batches: GET chunks of a dispatched batch (real Redis)', () => {
	let service: TestService;
	beforeEach(() => {
		service = createTestService();
	});
	afterEach(async () => service.cleanup());

	it('does not show chunks not cut yet as finished ones', async () => {
		const app = service.app;
		await api(app).post('/v1/batches', {
			batchKey: 'lazy-chunks',
			targetUrl: 'http://127.0.0.1:9/worker',
			chunkSize: 1,
			concurrency: 1,
		});
		await api(app).post('/v1/batches/lazy-chunks/items', { items: items(20), final: true });
		const listed = (await api(app).get('/v1/batches/lazy-chunks/chunks?limit=100')).body
			.chunks as Array<{
			items: number;
			left: number;
		}>;
		// Nothing was dispatched (no dispatcher runs here): no chunk may look finished.
		expect(listed.length).toBeGreaterThan(0);
		expect(listed.filter((chunk) => chunk.left === 0)).toEqual([]);
	});
});
