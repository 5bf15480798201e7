import { BatchReads } from '../../../service/src/batches/state/reads';
import { createTestService, type TestService } from '../../harness/service';
import { api, items } from './helpers';

describe('batches: create, append, seal (real Redis)', () => {
	let service: TestService;
	beforeEach(() => {
		service = createTestService({ MAX_ITEMS_PER_PAGE: '50' });
	});
	afterEach(async () => service.cleanup());

	const settings = { batchKey: 'b-create', targetUrl: 'http://127.0.0.1:9/hook', chunkSize: 10 };

	it('creates a batch once per batchKey', async () => {
		const first = await api(service.app).post('/v1/batches', settings);
		expect(first.status).toBe(201);
		expect(first.body).toMatchObject({
			batchId: 'b-create',
			created: true,
			state: 'open',
			concurrency: 4,
		});
		const again = await api(service.app).post('/v1/batches', { ...settings, chunkSize: 99 });
		expect(again.status).toBe(200);
		expect(again.body).toMatchObject({ batchId: 'b-create', created: false, state: 'open' });
		const stored = await service.ctx.redis.hget(service.ctx.keys.batch('b-create'), 'chunkSize');
		expect(stored).toBe('10');
	});

	it('de-duplicates items by key, counting duplicates as skipped, and cuts chunks', async () => {
		const { app, ctx } = service;
		await api(app).post('/v1/batches', settings);
		const page1 = await api(app).post('/v1/batches/b-create/items', { items: items(25) });
		expect(page1.body).toMatchObject({ accepted: 25, duplicates: 0 });
		const dupInPage = [...items(5, 20), { key: 'item-30', json: {} }, { key: 'item-30', json: {} }];
		const page2 = await api(app).post('/v1/batches/b-create/items', { items: dupInPage });
		expect(page2.body).toMatchObject({ accepted: 1, duplicates: 6 });
		let progress = (await api(app).get('/v1/batches/b-create')).body;
		expect(progress.counts).toMatchObject({ total: 32, pending: 26, skipped: 6 });
		expect(progress.chunks).toEqual({ total: 3, cut: 2, done: 0 });
		const sealed = await api(app).post('/v1/batches/b-create/seal');
		expect(sealed.body).toMatchObject({
			state: 'running',
			sealed: true,
			chunks: { total: 3, done: 0 },
		});
		// Chunks are ranges of arrival order: the last one holds the five left and item-30.
		const chunks = (await api(app).get('/v1/batches/b-create/chunks')).body.chunks;
		expect(chunks.map((c: { items: number }) => c.items)).toEqual([10, 10, 6]);
		const reads = new BatchReads(ctx);
		for (const key of ['item-20', 'item-24', 'item-30'])
			expect((await reads.item('b-create', key))?.chunkIndex).toBe(2);
		// Sealing again is a no-op; appending after it is refused.
		expect((await api(app).post('/v1/batches/b-create/seal')).status).toBe(200);
		const late = await api(app).post('/v1/batches/b-create/items', { items: items(1, 100) });
		expect(late.status).toBe(409);
		expect(late.body.error.code).toBe('batch_sealed');
		progress = (await api(app).get('/v1/batches/b-create')).body;
		expect(progress.counts.total).toBe(32);
	});

	it('queues one BullMQ job per chunk holding only references', async () => {
		const { app } = service;
		await api(app).post('/v1/batches', settings);
		await api(app).post('/v1/batches/b-create/items', { items: items(25), final: true });
		const jobs = await service.batches.chunks.queue.getJobs(['wait', 'prioritized', 'delayed']);
		expect(jobs.map((job) => job.data).sort((a, b) => a.chunkIndex - b.chunkIndex)).toEqual([
			{ batchId: 'b-create', chunkIndex: 0, generation: 0 },
			{ batchId: 'b-create', chunkIndex: 1, generation: 0 },
			{ batchId: 'b-create', chunkIndex: 2, generation: 0 },
		]);
	});

	it('completes an empty batch at seal and lists batches newest first', async () => {
		const { app } = service;
		await api(app).post('/v1/batches', { batchKey: 'b-empty' });
		await api(app).post('/v1/batches', settings);
		const sealed = await api(app).post('/v1/batches/b-empty/seal');
		expect(sealed.body.state).toBe('completed');
		const list = await api(app).get('/v1/batches?limit=1');
		expect(list.body.batches.map((b: { batchId: string }) => b.batchId)).toEqual(['b-create']);
		const next = await api(app).get(`/v1/batches?limit=5&cursor=${list.body.nextCursor}`);
		expect(next.body).toMatchObject({ batches: [{ batchId: 'b-empty' }], nextCursor: null });
		const completed = await api(app).get('/v1/batches?state=completed');
		expect(completed.body.batches).toHaveLength(1);
	});
});
