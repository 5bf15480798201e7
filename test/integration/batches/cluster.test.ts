import { startTestCluster, type TestCluster } from '../../harness/redis-cluster';
import { createTestService, type TestService } from '../../harness/service';
import { api, items, serveApp, startSink, submitBatch, waitDone, type Sink } from './helpers';

/**
 * The whole batch feature on a real 3-master Redis Cluster: each batch's keys and each limiter's
 * share a hash tag (one slot per script), BullMQ's prefix carries one too, and the service talks
 * to it through an ioredis Cluster client (REDIS_CLUSTER_NODES).
 */
describe('batches on a Redis Cluster of three masters (real redis-server processes)', () => {
	let cluster: TestCluster;
	let service: TestService;
	let served: { url: string; close(): Promise<void> };
	let sink: Sink;
	beforeAll(async () => {
		cluster = await startTestCluster();
		service = createTestService({ REDIS_CLUSTER_NODES: cluster.nodes }, { dispatcher: true });
		served = await serveApp(service.app);
	}, 60_000);
	afterAll(async () => {
		await sink?.close();
		await served?.close();
		await service?.cleanup();
		await cluster?.stop();
	});

	it('dispatch paced by a limiter, claims, results, replay and the report', async () => {
		const app = service.app;
		// Every fourth item of the dispatched batch fails for good the first time round.
		const failOnce = new Set(['item-3', 'item-7']);
		sink = await startSink((dispatch) => {
			const bad = dispatch.items.find((item) => failOnce.has(item.key));
			if (bad) {
				failOnce.delete(bad.key);
				return { status: 422, body: { error: 'bad item' } };
			}
			return {};
		});
		expect(
			(
				await api(app).put('/v1/limiters/cluster-sink', {
					capacity: 20,
					refillAmount: 200,
					refillUnit: 'second',
				})
			).status,
		).toBe(200);
		const dispatched = await submitBatch(
			app,
			{ batchKey: 'b-cluster', targetUrl: sink.url, chunkSize: 2, limiterKey: 'cluster-sink' },
			items(40),
		);
		let progress = await waitDone(app, dispatched, 30_000);
		expect(progress.counts).toMatchObject({ succeeded: 36, deadLettered: 4 });
		const replay = await api(app).post(`/v1/batches/${dispatched}/dead-letters/retry`, {
			errorClass: 'http_422',
		});
		expect(replay.body.replayed).toBe(4);
		progress = await waitDone(app, dispatched, 30_000);
		expect(progress).toMatchObject({ state: 'completed', counts: { succeeded: 40 } });
		const report = (await api(app).get(`/v1/batches/${dispatched}/report`)).body;
		expect(report.summary).toMatchObject({ total_items: 40, succeeded: 40, failed: 0 });

		// A batch worked by Claim and Record Results, on another slot.
		await api(app).post('/v1/batches', { batchKey: 'b-claims' });
		await api(app).post('/v1/batches/b-claims/items', { items: items(5), final: true });
		const claim = await api(app).post('/v1/batches/b-claims/claim', {
			keys: items(5).map((i) => i.key),
		});
		expect(claim.body.claimed).toHaveLength(5);
		const recorded = await api(app).post('/v1/batches/b-claims/results', {
			lease: claim.body.lease,
			results: items(5).map((i) => ({ key: i.key, status: 'succeeded' })),
		});
		expect(recorded.body.succeeded).toBe(5);
		const list = (await api(app).get('/v1/batches')).body.batches.map(
			(b: { batchId: string }) => b.batchId,
		);
		expect(list.sort()).toEqual(['b-claims', 'b-cluster']);
		const limiter = (await api(app).get('/v1/limiters/cluster-sink')).body;
		expect(limiter.grantedTokens).toBeGreaterThanOrEqual(44);
		// Really a cluster: the keys are spread over its masters.
		const redis = service.ctx.redis;
		expect('nodes' in redis).toBe(true);
		const masters = 'nodes' in redis ? redis.nodes('master') : [];
		const holding = await Promise.all(
			masters.map(async (node) => (await node.keys(`${service.ctx.config.KEY_PREFIX}:*`)).length),
		);
		expect(holding.filter((count) => count > 0).length).toBeGreaterThanOrEqual(2);
	}, 90_000);
});
