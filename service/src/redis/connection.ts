import { Cluster, Redis, type RedisOptions } from 'ioredis';

export interface ClusterNode {
	host: string;
	port: number;
}

/** A command connection: one Redis, or a Redis Cluster (REDIS_CLUSTER_NODES). */
export type RedisClient = Redis | Cluster;

/** Where Redis is: a URL, or the seed nodes of a cluster (then the URL only names it in logs). */
export interface RedisTarget {
	url: string;
	clusterNodes?: ClusterNode[];
}

const BASE: RedisOptions = {
	connectTimeout: 5_000,
	enableReadyCheck: true,
	retryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
};

/**
 * Commands fail fast while Redis is away (maxRetriesPerRequest: 2) so callers decide: requests
 * that carry an outcome retry with backoff (see retry.ts), others answer 503. BullMQ's blocking
 * connections use `blocking: true` (maxRetriesPerRequest: null, as BullMQ requires).
 */
export function createRedis(
	target: RedisTarget | string,
	options: RedisOptions & { blocking?: boolean } = {},
): RedisClient {
	const { blocking, ...rest } = options;
	const redisOptions: RedisOptions = {
		...BASE,
		maxRetriesPerRequest: blocking ? null : 2,
		...rest,
	};
	const where = typeof target === 'string' ? { url: target } : target;
	if (where.clusterNodes && where.clusterNodes.length > 0) {
		return new Cluster(where.clusterNodes, {
			redisOptions,
			clusterRetryStrategy: (attempt) => Math.min(attempt * 200, 2_000),
			// Scripts and MULTI touch one slot each (one hash tag per batch or limiter).
			enableReadyCheck: true,
			maxRedirections: 16,
		});
	}
	return new Redis(where.url, redisOptions);
}

export function createBlockingRedis(target: RedisTarget | string): RedisClient {
	return createRedis(target, { blocking: true });
}

/** `host:port,host:port` (REDIS_CLUSTER_NODES) as ioredis cluster seed nodes. */
export function parseClusterNodes(value: string): ClusterNode[] {
	return value
		.split(',')
		.map((part) => part.trim())
		.filter(Boolean)
		.map((part) => {
			const at = part.lastIndexOf(':');
			return { host: part.slice(0, at), port: Number(part.slice(at + 1)) };
		});
}

export async function pingWithin(redis: RedisClient, timeoutMs: number): Promise<boolean> {
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

/** Redis TIME in milliseconds: the one clock every due time is measured on. */
export async function redisNow(redis: RedisClient): Promise<number> {
	const [seconds, micros] = await redis.time();
	return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}
