import { Router, type Response } from 'express';
import { z } from 'zod';

import type { ServiceContext } from '../context';
import { requiredBody } from '../http/body';
import { describeRoute } from '../http/openapi';
import { idSchema, parse } from '../http/validate';
import { Limiter } from './limiter';
import {
	costSchema,
	limiterSettingsSchema,
	maxWaitSchema,
	pauseSchema,
	type LimiterState,
} from './settings';

const acquireBody = z.strictObject({
	cost: costSchema.default(1),
	/** @defaultValue 30000 */
	maxWaitMs: maxWaitSchema.default(30_000),
	settings: limiterSettingsSchema.optional(),
});

const takeBody = z.strictObject({
	costs: z
		.array(costSchema, { error: 'must be a list of item costs' })
		.min(1, 'must hold at least one cost')
		.max(10_000, 'must hold at most 10000 costs; split the input'),
	settings: limiterSettingsSchema.optional(),
});

const throttleBody = z.strictObject({
	/** @defaultValue 1000 (when the downstream sent no Retry-After) */
	retryAfterMs: pauseSchema.default(1_000),
	settings: limiterSettingsSchema.optional(),
});

const acquireAnswer = z.object({
	granted: z.boolean(),
	waitedMs: z.number(),
	retryAfterMs: z.number(),
});

const stateAnswer = z.object({
	limiterKey: z.string(),
	settings: limiterSettingsSchema,
	currentRefillAmount: z.number(),
	tokens: z.number(),
	state: z.enum(['ok', 'paused', 'reduced']),
	pausedUntil: z.string().nullable(),
	pausedForMs: z.number(),
	throttles: z.number(),
	lastThrottleAt: z.string().nullable(),
	grantedTokens: z.number(),
});

/** Limiter routes: configure, read, acquire (held until granted or max wait), take, throttle. */
export function limitsRouter(ctx: ServiceContext): Router {
	const limiter = new Limiter(ctx);
	const router = Router();
	const keyOf = (params: Record<string, string>): string =>
		parse(idSchema, params.limiterKey, 'limiterKey');
	const sendState = (res: Response, state: LimiterState) => res.json(state);
	const base = '/v1/limiters/:limiterKey';
	const tags = ['limiters'];

	describeRoute({
		method: 'put',
		path: base,
		summary: 'Store the settings of a limiter key (last writer wins)',
		tags,
		body: limiterSettingsSchema,
		response: { status: 200, description: 'Limiter state', schema: stateAnswer },
	});
	router.put(base, async (req, res) => {
		const limiterKey = keyOf(req.params);
		const settings = parse(limiterSettingsSchema, requiredBody(req), 'settings');
		sendState(res, await limiter.configure(limiterKey, settings));
	});

	describeRoute({
		method: 'get',
		path: base,
		summary: 'Settings, current rate, tokens, pause and throttle counts of a limiter key',
		tags,
		response: { status: 200, description: 'Limiter state', schema: stateAnswer },
		errors: [404],
	});
	router.get(base, async (req, res) => {
		sendState(res, await limiter.state(keyOf(req.params)));
	});

	describeRoute({
		method: 'post',
		path: `${base}/acquire`,
		summary: 'Wait for capacity: held until `cost` tokens are granted or maxWaitMs runs out',
		tags,
		body: acquireBody,
		response: {
			status: 200,
			description: 'granted, or not with retryAfterMs',
			schema: acquireAnswer,
		},
		errors: [404],
	});
	router.post(`${base}/acquire`, async (req, res) => {
		const limiterKey = keyOf(req.params);
		const body = parse(acquireBody, requiredBody(req), 'body');
		// A caller that hangs up (execution cancelled, timeout) gives its reserved slot back.
		const hangUp = new AbortController();
		res.on('close', () => {
			if (!res.writableEnded) hangUp.abort();
		});
		const result = await limiter.acquire(limiterKey, body.cost, body.maxWaitMs, {
			settings: body.settings,
			signal: hangUp.signal,
		});
		if (!res.writableEnded && !hangUp.signal.aborted) res.json(result);
	});

	describeRoute({
		method: 'post',
		path: `${base}/take`,
		summary: 'Split: grant the longest prefix of item costs available now, never wait',
		tags,
		body: takeBody,
		response: {
			status: 200,
			description: '{ granted: number of leading items granted, retryAfterMs }',
		},
		errors: [404],
	});
	router.post(`${base}/take`, async (req, res) => {
		const limiterKey = keyOf(req.params);
		const body = parse(takeBody, requiredBody(req), 'body');
		res.json(await limiter.take(limiterKey, body.costs, body.settings));
	});

	describeRoute({
		method: 'post',
		path: `${base}/throttle`,
		summary: 'Report a downstream 429: pause the key for retryAfterMs; adaptive keys slow down',
		tags,
		body: throttleBody,
		response: { status: 200, description: 'Limiter state', schema: stateAnswer },
		errors: [404],
	});
	router.post(`${base}/throttle`, async (req, res) => {
		const limiterKey = keyOf(req.params);
		const body = parse(throttleBody, requiredBody(req), 'body');
		sendState(res, await limiter.reportThrottle(limiterKey, body.retryAfterMs, body.settings));
	});

	return router;
}
