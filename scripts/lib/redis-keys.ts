import { Redis } from 'ioredis';

/** Deletes every key under `prefix:` (a run's own prefix on a Redis that outlives the run). */
export async function deletePrefixedKeys(redisUrl: string, prefix: string): Promise<void> {
	const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
	try {
		await redis.connect();
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 500);
			if (keys.length) await redis.del(...keys);
			cursor = next;
		} while (cursor !== '0');
	} finally {
		redis.disconnect();
	}
}
