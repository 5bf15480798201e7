import { monitorEventLoopDelay } from 'node:perf_hooks';
import request from 'supertest';

import { liveProgressOf } from '../../../service/src/ui';
import { TEST_API_KEY } from '../../harness/service';
import {
	api,
	dispatchFixture,
	eventually,
	items,
	sleep,
	startSink,
	submitBatch,
	waitDone,
} from '../batches/helpers';
import { login, openEventStream, type EventStream } from './helpers';

jest.setTimeout(120_000);

const progressOf = (stream: EventStream, batchId: string) =>
	stream.frames
		.filter((frame) => frame.event === 'progress')
		.map((frame) => JSON.parse(frame.data))
		.filter((progress) => progress.batchId === batchId);

describe('operator view: live progress by server-sent events', () => {
	const fixture = dispatchFixture();

	it('reads a batch at most about twice a second whatever the event rate, and fans the frame out', async () => {
		const { service, served } = fixture;
		const created = await api(service.app).post('/v1/batches', { batchKey: 'quiet' });
		expect(created.status).toBe(201);
		const cookie = await login(served.url);
		const streams = await Promise.all(
			Array.from({ length: 5 }, () => openEventStream(`${served.url}/ui/api/events`, cookie)),
		);
		try {
			const live = liveProgressOf(service.ctx);
			expect(live?.viewerCount).toBe(5);
			// Let the subscription settle, then flood the batch's channel as a busy engine would.
			await sleep(200);
			const readsBefore = live!.reads;
			const started = Date.now();
			const channel = service.ctx.keys.batchEvents('quiet');
			for (let i = 0; i < 1000; i++) await service.ctx.redis.publish(channel, 'running');
			await sleep(2000);
			const seconds = (Date.now() - started) / 1000;
			const reads = live!.reads - readsBefore;
			expect(reads).toBeGreaterThanOrEqual(1);
			// 500 ms apart at least, plus the one that starts at once.
			expect(reads).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 1);
			for (const stream of streams) expect(progressOf(stream, 'quiet').length).toBeGreaterThan(0);
		} finally {
			for (const stream of streams) stream.stop();
		}
	});

	it('sends one batch to a stream opened for that batch, and `gone` when it is deleted', async () => {
		const { service, served } = fixture;
		await api(service.app).post('/v1/batches', { batchKey: 'one' });
		await api(service.app).post('/v1/batches', { batchKey: 'other' });
		const cookie = await login(served.url);
		const stream = await openEventStream(`${served.url}/ui/api/events?batch=one`, cookie);
		try {
			// A stream for one batch starts with its progress, without waiting for a change.
			const first = await stream.next((frame) => frame.event === 'progress');
			expect(JSON.parse(first.data).batchId).toBe('one');
			await service.ctx.redis.publish(service.ctx.keys.batchEvents('other'), 'running');
			await service.ctx.redis.publish(service.ctx.keys.batchEvents('one'), 'running');
			await sleep(1200);
			expect(progressOf(stream, 'other')).toEqual([]);
			// Only a finished batch may be deleted.
			expect((await api(service.app).post('/v1/batches/one/cancel')).status).toBe(200);
			const removed = await request(service.app)
				.delete('/v1/batches/one')
				.set('x-api-key', TEST_API_KEY);
			expect(removed.status).toBe(200);
			const gone = await stream.next((frame) => frame.event === 'gone');
			expect(JSON.parse(gone.data)).toEqual({ batchId: 'one' });
		} finally {
			stream.stop();
		}
	});

	it('stays responsive with 200 batches listed and 50 viewers while a batch runs', async () => {
		const { service, served } = fixture;
		for (let i = 0; i < 199; i++) {
			const res = await api(service.app).post('/v1/batches', { batchKey: `idle-${i}` });
			expect(res.status).toBe(201);
		}
		fixture.sink = await startSink(() => ({ delayMs: 25 }));
		const cookie = await login(served.url);
		const streams = await Promise.all(
			Array.from({ length: 50 }, () => openEventStream(`${served.url}/ui/api/events`, cookie)),
		);
		const delay = monitorEventLoopDelay({ resolution: 10 });
		try {
			const live = liveProgressOf(service.ctx)!;
			expect(live.viewerCount).toBe(50);
			const list = await request(served.url).get('/ui/api/batches?limit=200').set('cookie', cookie);
			expect(list.status).toBe(200);
			expect(list.body.batches).toHaveLength(199);
			const readsBefore = live.reads;
			delay.enable();
			const started = Date.now();
			const batchId = await submitBatch(
				service.app,
				{ batchKey: 'busy', targetUrl: fixture.sink.url, chunkSize: 20, concurrency: 2 },
				items(5000),
			);
			const done = await waitDone(service.app, batchId, 90_000);
			const seconds = (Date.now() - started) / 1000;
			expect(done.counts.succeeded).toBe(5000);
			// The page's list of 200 still answers quickly while the batch runs.
			const listed = Date.now();
			const page = await request(served.url).get('/ui/api/batches?limit=200').set('cookie', cookie);
			expect(page.body.batches).toHaveLength(200);
			const listMs = Date.now() - listed;
			delay.disable();
			await eventually(async () =>
				streams.every((stream) => progressOf(stream, 'busy').some((p) => p.state === 'completed')),
			);
			for (const stream of streams) {
				const seen = progressOf(stream, 'busy');
				// Every viewer saw the batch move, not only its end.
				expect(new Set(seen.map((p) => p.counts.succeeded)).size).toBeGreaterThanOrEqual(2);
			}
			const reads = live.reads - readsBefore;
			const p99 = delay.percentile(99) / 1e6;
			console.log(
				`50 viewers, 200 batches: ${seconds.toFixed(1)} s run, ${reads} progress reads, event-loop delay p99 ${p99.toFixed(1)} ms, max ${(delay.max / 1e6).toFixed(1)} ms, list of 200 in ${listMs} ms`,
			);
			// Reads follow the batch, not the viewers: 50 viewers would need 50x this without fan-out.
			expect(reads).toBeLessThanOrEqual(Math.ceil(seconds * 2) + 4);
			expect(p99).toBeLessThan(100);
		} finally {
			delay.disable();
			for (const stream of streams) stream.stop();
		}
	});
});
