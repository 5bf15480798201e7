import { Redis, type RedisOptions } from 'ioredis';

/**
 * Commands fail fast while Redis is away (so requests get a clear 503 instead of hanging);
 * BullMQ's blocking connections are created separately with maxRetriesPerRequest: null.
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
	return new Redis(url, {
		maxRetriesPerRequest: 2,
		connectTimeout: 5_000,
		enableReadyCheck: true,
		retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
		...options,
	});
}

export function createBlockingRedis(url: string): Redis {
	return createRedis(url, { maxRetriesPerRequest: null });
}

export async function pingWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<boolean>((resolve) => {
		timer = setTimeout(() => resolve(false), timeoutMs);
	});
	try {
		return await Promise.race([redis.ping().then((reply) => reply === 'PONG'), timeout]);
	} catch {
		return false;
	} finally {
		clearTimeout(timer);
	}
}
