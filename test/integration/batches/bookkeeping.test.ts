import { BatchCommands } from '../../../service/src/batches/state/commands';
import { BatchReads } from '../../../service/src/batches/state/reads';
import { createTestService, type TestService } from '../../harness/service';
import { api, items, startSink, submitBatch, waitDone } from './helpers';

/** Counts that stay true when requests repeat, and the index/sweep/queue edges of a crash. */
describe('batches: bookkeeping under repeats and crashes (real Redis)', () => {
	let service: TestService;
	beforeEach(() => {
		service = createTestService({ MAX_CHUNK_BYTES: '2048' });
	});
	afterEach(async () => service.cleanup());

	it('a page re-sent with its pageId after a lost answer changes no count', async () => {
		const app = service.app;
		await api(app).post('/v1/batches', { batchKey: 'b-page' });
		const page = { items: [...items(5), ...items(1)], pageId: '0-abc' };
		const first = await api(app).post('/v1/batches/b-page/items', page);
		expect(first.body).toMatchObject({ accepted: 5, duplicates: 1, replayed: false });
		const again = await api(app).post('/v1/batches/b-page/items', page);
		expect(again.body).toMatchObject({ accepted: 5, duplicates: 1, replayed: true });
		const progress = (await api(app).get('/v1/batches/b-page')).body;
		expect(progress.counts).toMatchObject({ total: 6, pending: 5, skipped: 1 });
	});

	it("the dead-letter list's total counts only the class asked for", async () => {
		const app = service.app;
		await api(app).post('/v1/batches', { batchKey: 'b-dead' });
		await api(app).post('/v1/batches/b-dead/items', { items: items(5), final: true });
		await api(app).post('/v1/batches/b-dead/results', {
			results: items(5).map((item, n) => ({
				key: item.key,
				status: 'failed',
				error: { message: 'no', httpCode: n < 3 ? 422 : 404 },
			})),
		});
		const some = (await api(app).get('/v1/batches/b-dead/dead-letters?errorClass=http_404')).body;
		expect(some.total).toBe(2);
		expect(some.deadLetters).toHaveLength(2);
		const all = (await api(app).get('/v1/batches/b-dead/dead-letters?limit=1')).body;
		expect(all.total).toBe(5);
	});

	it('cuts chunks by bytes as well as by count (MAX_CHUNK_BYTES)', async () => {
		const app = service.app;
		await api(app).post('/v1/batches', { batchKey: 'b-bytes', chunkSize: 100 });
		const big = Array.from({ length: 6 }, (_, n) => ({
			key: `big-${n}`,
			json: { text: 'x'.repeat(900) },
		}));
		await api(app).post('/v1/batches/b-bytes/items', { items: big, final: true });
		const chunks = (await api(app).get('/v1/batches/b-bytes/chunks')).body.chunks;
		// About 920 bytes an item, 2048 a chunk: two per chunk.
		expect(chunks.map((c: { items: number }) => c.items)).toEqual([2, 2, 2]);
	});

	it('a batch listed but never created (crash between the two) is skipped, then swept away', async () => {
		const { ctx } = service;
		await ctx.redis.zadd(ctx.keys.batchIndex(), 0, 'b-ghost');
		await ctx.redis.zadd(ctx.keys.activeBatches(), 0, 'b-ghost');
		await api(service.app).post('/v1/batches', { batchKey: 'b-real' });
		const list = (await api(service.app).get('/v1/batches')).body;
		expect(list.batches.map((b: { batchId: string }) => b.batchId)).toEqual(['b-real']);
		await service.batches.sweeper.sweep();
		expect(await ctx.redis.zscore(ctx.keys.batchIndex(), 'b-ghost')).toBeNull();
		expect(await ctx.redis.zscore(ctx.keys.activeBatches(), 'b-ghost')).toBeNull();
		expect(await ctx.redis.zscore(ctx.keys.batchIndex(), 'b-real')).not.toBeNull();
	});

	it('the sweep walks every unfinished batch, not only the newest: a lost chunk job is added again', async () => {
		const { ctx, app } = service;
		// 1,100 older batches ahead of the one that lost its job.
		for (let i = 0; i < 1100; i += 100) {
			await Promise.all(
				Array.from({ length: 100 }, (_, j) =>
					api(app).post('/v1/batches', { batchKey: `b-old-${i + j}` }),
				),
			);
		}
		await api(app).post('/v1/batches', { batchKey: 'b-lost', targetUrl: 'http://127.0.0.1:9/x' });
		await api(app).post('/v1/batches/b-lost/items', { items: items(3), final: true });
		// The oldest entry in the active set: as if it had been created long ago.
		await ctx.redis.zadd(ctx.keys.activeBatches(), 1, 'b-lost');
		const queue = service.batches.chunks.queue;
		await queue.obliterate({ force: true });
		expect(await queue.getJobCounts()).toMatchObject({ prioritized: 0, waiting: 0 });
		// The crash also lost the "not queued yet" mark's clearing: it is still there to act on.
		await ctx.redis.hset(ctx.keys.batchPart('b-lost', 'unqueued'), '0', '0');
		await service.batches.sweeper.sweep();
		const jobs = await queue.getJobs(['prioritized', 'waiting']);
		expect(jobs.map((job) => job.data)).toEqual([
			{ batchId: 'b-lost', chunkIndex: 0, generation: 0 },
		]);
	}, 60_000);

	it('marking a chunk queued never forgets a newer generation (replay racing the job add)', async () => {
		const { ctx } = service;
		await api(service.app).post('/v1/batches', {
			batchKey: 'b-gen',
			targetUrl: 'http://127.0.0.1:9/x',
		});
		await api(service.app).post('/v1/batches/b-gen/items', { items: items(2), final: true });
		const commands = new BatchCommands(ctx);
		const reads = new BatchReads(ctx);
		// A replay bumped chunk 0 to generation 1 after the job of generation 0 was being added.
		await ctx.redis.hset(ctx.keys.batchPart('b-gen', 'unqueued'), '0', '1');
		await commands.markQueued('b-gen', [{ chunkIndex: 0, generation: 0 }]);
		expect(await reads.unqueued('b-gen')).toEqual([{ chunkIndex: 0, generation: 1 }]);
		await commands.markQueued('b-gen', [{ chunkIndex: 0, generation: 1 }]);
		expect(await reads.unqueued('b-gen')).toEqual([]);
	});
});

describe('batches: a chunk job whose batch is gone (real Redis, dispatcher started)', () => {
	let service: TestService;
	beforeEach(() => {
		service = createTestService({}, { dispatcher: true });
	});
	afterEach(async () => service.cleanup());

	it('ends quietly instead of failing and being retried', async () => {
		const queue = service.batches.chunks.queue;
		// A batch this process dispatched (so it knows its settings), finished and deleted.
		const sink = await startSink();
		try {
			const batchId = await submitBatch(
				service.app,
				{ batchKey: 'b-deleted', targetUrl: sink.url, chunkSize: 5 },
				items(5),
			);
			await waitDone(service.app, batchId);
			expect((await api(service.app).delete('/v1/batches/b-deleted')).status).toBe(200);
		} finally {
			await sink.close();
		}
		const job = await queue.add(
			'chunk',
			{ batchId: 'b-deleted', chunkIndex: 0, generation: 0 },
			{ jobId: 'b-deleted~0~0', attempts: 5, backoff: { type: 'fixed', delay: 10 } },
		);
		for (let i = 0; i < 100 && !(await job.isCompleted()); i++) {
			await new Promise((resolve) => setTimeout(resolve, 50));
		}
		expect(await job.isCompleted()).toBe(true);
		expect((await queue.getJob('b-deleted~0~0'))?.attemptsMade ?? 0).toBeLessThanOrEqual(1);
		expect(await queue.getFailedCount()).toBe(0);
	});
});
