import { createTestService, type TestService } from '../../harness/service';
import { api, items } from './helpers';

/** The service side of Split Into Chunks -> Loop: the batch is the loop's durable cursor. */
describe('batches: next-chunk for a loop (real Redis)', () => {
	let service: TestService;
	beforeEach(async () => {
		service = createTestService();
		await api(service.app).post('/v1/batches', { batchKey: 'b-loop', chunkSize: 10 });
		await api(service.app).post('/v1/batches/b-loop/items', { items: items(25), final: true });
	});
	afterEach(async () => service.cleanup());

	const next = (body: Record<string, unknown> = {}) =>
		api(service.app).post('/v1/batches/b-loop/next-chunk', body);
	const recordAll = (lease: string, keys: string[]) =>
		api(service.app).post('/v1/batches/b-loop/results', {
			lease,
			results: keys.map((key) => ({ key, status: 'succeeded' })),
		});

	it('hands out chunks in order, reports an unrecorded chunk, resumes at the first unfinished one, then done once', async () => {
		const first = (await next()).body;
		expect(first).toMatchObject({ kind: 'chunk', chunkIndex: 0, previous: null });
		expect(first.items).toHaveLength(10);
		expect(first.items[0]).toEqual({ key: 'item-0', attempt: 1, json: { n: 0 } });
		await recordAll(
			first.lease,
			first.items.map((i: { key: string }) => i.key),
		);
		const second = (await next({ previousChunk: 0 })).body;
		expect(second).toMatchObject({
			kind: 'chunk',
			chunkIndex: 1,
			previous: { chunkIndex: 0, left: 0, unreported: 0 },
		});
		// The body never recorded chunk 1: the answer says so (a runaway loop), and a run that
		// starts over gets the same chunk, the same items, under the same lease.
		const runaway = (await next({ previousChunk: 1 })).body;
		expect(runaway.previous).toEqual({ chunkIndex: 1, left: 10, unreported: 10 });
		const resumed = (await next()).body;
		expect(resumed).toMatchObject({ kind: 'chunk', chunkIndex: 1, lease: second.lease });
		expect(resumed.items.map((i: { key: string }) => i.key)).toEqual(
			second.items.map((i: { key: string }) => i.key),
		);
		expect(resumed.items[0].attempt).toBe(1);
		await recordAll(
			resumed.lease,
			resumed.items.map((i: { key: string }) => i.key),
		);
		const third = (await next({ previousChunk: 1 })).body;
		expect(third).toMatchObject({ kind: 'chunk', chunkIndex: 2 });
		expect(third.items).toHaveLength(5);
		await recordAll(
			third.lease,
			third.items.map((i: { key: string }) => i.key),
		);
		const done = (await next({ previousChunk: 2 })).body;
		expect(done).toMatchObject({
			kind: 'done',
			previous: { chunkIndex: 2, left: 0 },
			progress: { state: 'completed', counts: { succeeded: 25 } },
		});
	});

	it('skips items waiting for a retry and says when to come back', async () => {
		const first = (await next()).body;
		await api(service.app).post('/v1/batches/b-loop/results', {
			lease: first.lease,
			results: first.items.map((i: { key: string }) => ({
				key: i.key,
				status: 'released',
				retryAfterMs: 60_000,
			})),
		});
		const second = (await next({ previousChunk: 0 })).body;
		expect(second).toMatchObject({ kind: 'chunk', chunkIndex: 1 });
		await recordAll(
			second.lease,
			second.items.map((i: { key: string }) => i.key),
		);
		const third = (await next({ previousChunk: 1 })).body;
		await recordAll(
			third.lease,
			third.items.map((i: { key: string }) => i.key),
		);
		const waiting = (await next({ previousChunk: 2 })).body;
		expect(waiting.kind).toBe('wait');
		expect(waiting.retryAfterMs).toBeGreaterThan(55_000);
		expect(waiting.progress.counts).toMatchObject({ retrying: 10, released: 10 });
	});
});
