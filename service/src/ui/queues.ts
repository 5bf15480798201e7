import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import { Queue } from 'bullmq';
import type { RequestHandler } from 'express';

import { QUEUE_STATES, watchQueueDepth } from '../observability/metrics';
import type { RedisClient } from '../redis/connection';

const FONT_CDN_LINK = /<link[^>]*href="https:\/\/fonts\.googleapis\.com[^>]*>/g;

/** A BullMQ queue the operator may look into: its name and key prefix. */
export interface QueueRef {
	name: string;
	prefix: string;
}

export interface QueueBoard {
	handler: RequestHandler;
	close(): Promise<void>;
}

/**
 * bull-board over the given queues at `basePath`, plus their depth in /metrics. Read-only: chunk
 * jobs belong to the engine (removing or retrying one by hand would desynchronise the batch), so
 * operators pause, cancel and replay from the progress page instead. The queues share the
 * service's command connection (BullMQ leaves a passed-in connection open).
 */
export function queueBoard(redis: RedisClient, refs: QueueRef[], basePath: string): QueueBoard {
	const queues = refs.map((ref) => {
		const queue = new Queue(ref.name, { connection: redis, prefix: ref.prefix });
		// The command connection logs its own errors (Redis away); the board needs no second line.
		queue.on('error', () => undefined);
		return queue;
	});
	const unwatch = queues.map((queue, i) =>
		watchQueueDepth(refs[i].name, refs[i].prefix, () => queue.getJobCounts(...QUEUE_STATES)),
	);
	const serverAdapter = new ExpressAdapter().setBasePath(basePath);
	createBullBoard({
		queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: true })),
		serverAdapter,
		options: { uiConfig: { boardTitle: 'Batch Guardian queues' } },
	});
	const board = serverAdapter.getRouter() as RequestHandler;
	return {
		handler: (req, res, next) => {
			// bull-board's page links a web font CDN; the view serves nothing from elsewhere.
			const send = res.send.bind(res);
			res.send = (body?: unknown) =>
				send(typeof body === 'string' ? body.replace(FONT_CDN_LINK, '') : body);
			board(req, res, next);
		},
		close: async () => {
			for (const stop of unwatch) stop();
			await Promise.all(queues.map((queue) => queue.close()));
		},
	};
}
