import { resolveTestRedis } from './redis';

/** Exposes the run's Redis to every test worker through REDIS_URL (workers inherit the env). */
export default async function setup(): Promise<void> {
	const redis = await resolveTestRedis();
	process.env.REDIS_URL = redis.url;
	if (redis.own) {
		process.env.BG_TEST_REDIS_PID = String(redis.own.pid());
		(globalThis as { __bgRedis?: unknown }).__bgRedis = redis.own;
	}
}
