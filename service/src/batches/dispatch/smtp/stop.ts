import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import type { ServiceContext } from '../../../context';
import type { BatchEvents } from '../../events';

/** Batch states in which no new message of it may start. */
const STOP_STATES = new Set(['paused', 'cancelled', 'aborted']);
/** Most often the batch's state is read while its messages go out, however often it changes. */
const READ_EVERY_MS = 100;

/**
 * A signal that aborts when the service shuts down or the batch is paused, cancelled, aborted or
 * deleted while its dispatch sends: messages not yet marked then stay unsent (they go back
 * unspent), so a pause takes effect within a message, not a lease. Each change of the batch
 * wakes it to read the state (subscribed first, so no change falls between read and wait).
 * `end()` stops watching.
 */
export function stopSignal(
	ctx: ServiceContext,
	events: BatchEvents,
	batchId: string,
	shutdown: AbortSignal,
): { signal: AbortSignal; end(): void } {
	const stop = new AbortController();
	// Every message of the batch waiting for a pool slot or a token listens on it (pool of 100).
	setMaxListeners(0, stop.signal);
	const onShutdown = (): void => stop.abort();
	shutdown.addEventListener('abort', onShutdown, { once: true });
	if (shutdown.aborted) stop.abort();
	let watching = true;
	let current: { cancel(): void } | undefined;
	void (async () => {
		while (watching && !stop.signal.aborted) {
			const next = await events.next(batchId);
			current = next;
			if (!watching) return next.cancel();
			// The batch hash's own state field (null once the batch is deleted).
			const state = await ctx.redis.hget(ctx.keys.batch(batchId), 'state');
			if (state === null || STOP_STATES.has(state)) {
				next.cancel();
				return stop.abort();
			}
			await next.changed;
			await sleep(READ_EVERY_MS);
		}
	})().catch(() => undefined);
	return {
		signal: stop.signal,
		end() {
			watching = false;
			current?.cancel();
			shutdown.removeEventListener('abort', onShutdown);
		},
	};
}
