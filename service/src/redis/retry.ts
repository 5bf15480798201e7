import { setTimeout as sleep } from 'node:timers/promises';

/**
 * True for errors that mean "Redis is away for now" (restarting, loading its AOF, a failover),
 * not "the command was wrong": worth retrying once Redis is back.
 */
export function isRedisUnavailable(error: unknown): boolean {
	const e = error as { name?: string; message?: string; code?: string };
	const text = `${e?.name ?? ''} ${e?.code ?? ''} ${e?.message ?? ''}`;
	return /MaxRetriesPerRequest|Connection is closed|ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|Stream isn't writeable|LOADING|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|READONLY|connect ETIMEDOUT|Reached the max retries|None of startup nodes/i.test(
		text,
	);
}

/**
 * Runs `operation` until it succeeds, retrying with backoff (100 ms doubling to 2 s) while Redis
 * is away, for as long as `deadline` (a performance.now() instant) allows. An outcome the service
 * has learned is thereby recorded once Redis is back instead of dropped. Other errors, and the last
 * one at the deadline, are thrown.
 */
export async function whileRedisAway<T>(
	operation: () => Promise<T>,
	deadline: number,
	options: { signal?: AbortSignal; onRetry?: (error: unknown, attempt: number) => void } = {},
): Promise<T> {
	let wait = 100;
	for (let attempt = 1; ; attempt++) {
		try {
			return await operation();
		} catch (error) {
			const left = deadline - performance.now();
			if (!isRedisUnavailable(error) || left <= 0 || options.signal?.aborted) throw error;
			options.onRetry?.(error, attempt);
			await sleep(Math.min(wait, left));
			wait = Math.min(wait * 2, 2_000);
		}
	}
}
