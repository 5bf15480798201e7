import { Router } from 'express';

import type { ServiceContext } from '../context';
import { describeRoute } from '../http/openapi';
import { pingWithin } from '../redis/connection';

/** Liveness answers without a key (process is up); readiness needs one and checks Redis. */
export function livenessRouter(): Router {
	const router = Router();
	router.get('/health', (_req, res) => {
		res.json({ status: 'ok' });
	});
	return router;
}

const DOWN = new Set(['reconnecting', 'close', 'end']);

export function readinessRouter(ctx: ServiceContext): Router {
	const router = Router();
	describeRoute({
		method: 'get',
		path: '/ready',
		summary: 'Readiness: the key is valid and Redis answers',
		tags: ['health'],
		response: { status: 200, description: 'Ready' },
		errors: [503],
	});
	router.get('/ready', async (_req, res) => {
		// A connection that is down is known to be down: no need to wait for a ping to time out.
		const redisUp = !DOWN.has(ctx.redis.status) && (await pingWithin(ctx.redis, 2_000));
		res.status(redisUp ? 200 : 503).json({
			status: redisUp ? 'ready' : 'unavailable',
			redis: redisUp ? 'up' : 'unreachable',
			...(redisUp
				? {}
				: { message: 'Redis does not answer; check REDIS_URL and that Redis is running' }),
		});
	});
	return router;
}
