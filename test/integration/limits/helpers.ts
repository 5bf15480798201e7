import request from 'supertest';
import type { Express } from 'express';

import { Limiter } from '../../../service/src/limits/limiter';
import { type Grant } from '../../harness/rate-windows';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';

export { maxInWindow, type Grant } from '../../harness/rate-windows';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const authed = (app: Express) => ({
	put: (path: string) => request(app).put(path).set('x-api-key', TEST_API_KEY),
	get: (path: string) => request(app).get(path).set('x-api-key', TEST_API_KEY),
	post: (path: string) => request(app).post(path).set('x-api-key', TEST_API_KEY),
});

/**
 * `callers` loops acquiring `cost` through the HTTP API until `durationMs` has passed; returns
 * every grant with the time its answer arrived. Bounded: each loop ends at the deadline.
 */
export async function hammer(
	apps: Express[],
	limiterKey: string,
	options: { callers: number; durationMs: number; cost?: number; maxWaitMs?: number },
): Promise<Grant[]> {
	const grants: Grant[] = [];
	const deadline = Date.now() + options.durationMs;
	const cost = options.cost ?? 1;
	await Promise.all(
		Array.from({ length: options.callers }, async (_, caller) => {
			const app = apps[caller % apps.length];
			while (Date.now() < deadline) {
				const res = await authed(app)
					.post(`/v1/limiters/${limiterKey}/acquire`)
					.send({ cost, maxWaitMs: options.maxWaitMs ?? 2_000 });
				if (res.status !== 200) throw new Error(`acquire: ${res.status} ${res.text}`);
				if (res.body.granted) grants.push({ at: Date.now(), cost, caller });
			}
		}),
	);
	return grants;
}

/** Each test gets its own service (random key prefix) and limiter engine, cleaned up after. */
export function withLimiterService(): { service: TestService; limiter: Limiter } {
	const env = {} as { service: TestService; limiter: Limiter };
	beforeEach(() => {
		env.service = createTestService();
		env.limiter = new Limiter(env.service.ctx);
	});
	afterEach(async () => env.service.cleanup());
	return env;
}
