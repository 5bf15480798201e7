import { createServer } from 'node:http';

import {
	api,
	closeServer,
	dispatchFixture,
	eventually,
	items,
	listenOn,
	readBody,
} from './helpers';

interface Received {
	eventId: string;
	type: string;
	milestone?: number;
	state?: string;
	report?: { summary: { succeeded: number } };
}

/** A receiver that refuses its first `failFirst` calls with 500, then records what it takes. */
async function receiver(failFirst: number) {
	const taken: Received[] = [];
	const attempts: string[] = [];
	const server = createServer(async (req, res) => {
		const body = JSON.parse(await readBody(req)) as Received;
		attempts.push(body.eventId);
		if (attempts.length <= failFirst) {
			res.writeHead(500).end('not now');
			return;
		}
		taken.push(body);
		res.writeHead(204).end();
	});
	const url = await listenOn(server);
	return { url: `${url}/notice`, taken, attempts, close: () => closeServer(server) };
}

/**
 * Milestones reach their receiver once each, in order, however they were crossed (append, seal,
 * claim, results, resume), retried with backoff while the receiver fails, each with a stable id;
 * the completion notice carries the report.
 */
describe('batches: milestone and completion notices (real Redis)', () => {
	const f = dispatchFixture({});

	it('every milestone once, in order, across a failing receiver; completion with the report', async () => {
		const milestones = await receiver(2);
		const completion = await receiver(1);
		try {
			const app = f.service.app;
			await api(app).post('/v1/batches', {
				batchKey: 'b-notices',
				chunkSize: 4,
				milestoneUrl: milestones.url,
				completionUrl: completion.url,
			});
			// 8 items of which 4 repeat keys: at seal, half the batch is done (duplicates are skipped).
			const page = [...items(4), ...items(4)];
			await api(app).post('/v1/batches/b-notices/items', { items: page, final: true });
			// The rest is worked by Claim + Record Results, in two steps (75 then 100).
			const claimed = await api(app).post('/v1/batches/b-notices/claim', {
				keys: items(4).map((i) => i.key),
			});
			await api(app).post('/v1/batches/b-notices/pause');
			await api(app).post('/v1/batches/b-notices/results', {
				lease: claimed.body.lease,
				results: items(2).map((i) => ({ key: i.key, status: 'succeeded' })),
			});
			await api(app).post('/v1/batches/b-notices/results', {
				lease: claimed.body.lease,
				results: items(2, 2).map((i) => ({ key: i.key, status: 'succeeded' })),
			});
			// Paused with nothing left: it completes when resumed.
			await api(app).post('/v1/batches/b-notices/resume');
			await eventually(
				async () => completion.taken.length === 1 && milestones.taken.length === 4,
				20_000,
			);
			expect(milestones.taken.map((n) => n.milestone)).toEqual([25, 50, 75, 100]);
			expect(new Set(milestones.taken.map((n) => n.eventId)).size).toBe(4);
			expect(milestones.taken[0].eventId).toBe('b-notices:0:milestone:25');
			// The failed attempts were retried with the same ids.
			expect(milestones.attempts.slice(0, 3)).toEqual([
				'b-notices:0:milestone:25',
				'b-notices:0:milestone:25',
				'b-notices:0:milestone:25',
			]);
			expect(completion.taken[0]).toMatchObject({
				type: 'completion',
				state: 'completed',
				report: { summary: { succeeded: 4 } },
			});
			// Nothing more arrives later.
			await new Promise((resolve) => setTimeout(resolve, 1500));
			expect(milestones.taken).toHaveLength(4);
			expect(completion.taken).toHaveLength(1);
		} finally {
			await milestones.close();
			await completion.close();
		}
	}, 30_000);

	it('an aborted batch sends its abort notice after the milestones it reached', async () => {
		const milestones = await receiver(0);
		try {
			const app = f.service.app;
			await api(app).post('/v1/batches', {
				batchKey: 'b-abort',
				milestoneUrl: milestones.url,
				failureThreshold: { ratio: 0.5, minSample: 4 },
			});
			await api(app).post('/v1/batches/b-abort/items', { items: items(8), final: true });
			await api(app).post('/v1/batches/b-abort/results', {
				results: items(4).map((i) => ({
					key: i.key,
					status: 'failed',
					error: { message: 'bad', httpCode: 422 },
				})),
			});
			await eventually(async () => milestones.taken.length === 3, 10_000);
			expect(milestones.taken.map((n) => [n.type, n.milestone ?? n.state])).toEqual([
				['milestone', 25],
				['milestone', 50],
				['aborted', 'aborted'],
			]);
		} finally {
			await milestones.close();
		}
	}, 20_000);
});

describe('batches: a receiver that refuses a notice for good (real Redis)', () => {
	const f = dispatchFixture({});

	it('drops a notice answered 404 (a finished n8n Wait) and goes on with the next', async () => {
		const calls: Array<{ eventId: string; status: number }> = [];
		const server = createServer(async (req, res) => {
			const body = JSON.parse(await readBody(req)) as Received;
			const status = body.milestone === 25 ? 404 : 204;
			calls.push({ eventId: body.eventId, status });
			res.writeHead(status).end();
		});
		const url = `${await listenOn(server)}/notice`;
		try {
			const app = f.service.app;
			await api(app).post('/v1/batches', { batchKey: 'b-refused', milestoneUrl: url });
			await api(app).post('/v1/batches/b-refused/items', { items: items(4), final: true });
			await api(app).post('/v1/batches/b-refused/results', {
				results: items(4).map((i) => ({ key: i.key, status: 'succeeded' })),
			});
			await eventually(async () => calls.length >= 4, 10_000);
			await new Promise((resolve) => setTimeout(resolve, 1500));
			expect(calls.map((c) => [c.eventId, c.status])).toEqual([
				['b-refused:0:milestone:25', 404],
				['b-refused:0:milestone:50', 204],
				['b-refused:0:milestone:75', 204],
				['b-refused:0:milestone:100', 204],
			]);
		} finally {
			await closeServer(server);
		}
	}, 20_000);
});
