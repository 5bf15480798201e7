import type { BatchEngine } from '../batches';
import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';
import { Limiter } from '../limits/limiter';
import { createBlockingRedis, type RedisClient } from '../redis/connection';
import type { EnginePort, UiDeadLetter, UiProgress } from './engine-port';

/**
 * The operator view's port over today's BatchEngine. Change events come from the PUBLISH on
 * `<prefix>:batch:{<id>}:events` in the batch scripts, on one pattern subscription opened with
 * the first listener and closed with the last.
 */
export function engineAdapter(ctx: ServiceContext, batches: BatchEngine): EnginePort {
	const engine = () => batches;
	const limiter = new Limiter(ctx);
	const changes = new BatchChanges(ctx);
	return {
		list: async (state, limit, cursor) => {
			const { batches, nextCursor } = await engine().list(state, limit, cursor);
			return { batches: batches as UiProgress[], nextCursor };
		},
		progress: async (batchId) => (await engine().progress(batchId)) as UiProgress,
		control: async (batchId, op) => (await engine().control(batchId, op)) as UiProgress,
		replay: async (batchId, errorClass) => {
			const { replayed } = await engine().replay(batchId, errorClass);
			return { replayed };
		},
		deadLetters: async (batchId, limit, errorClass) => {
			const answer = await engine().deadLetters(batchId, limit, errorClass);
			return answer as { deadLetters: UiDeadLetter[]; total: number };
		},
		report: (batchId) => engine().report(batchId),
		chunks: (batchId, limit, cursor) => engine().chunkList(batchId, limit, cursor),
		limiter: async (batchId) => {
			const { limiterKey } = await engine().progress(batchId);
			if (!limiterKey) return null;
			try {
				return await limiter.state(limiterKey);
			} catch (error) {
				// A limiter key that was never configured has no state to show yet.
				if (error instanceof ApiError && error.status === 404) return null;
				throw error;
			}
		},
		onChange: (listener) => changes.add(listener),
		close: () => changes.close(),
	};
}

class BatchChanges {
	private readonly listeners = new Set<(batchId: string) => void>();
	private subscriber?: RedisClient;

	constructor(private readonly ctx: ServiceContext) {}

	add(listener: (batchId: string) => void): () => void {
		this.listeners.add(listener);
		if (!this.subscriber) this.open();
		return () => {
			this.listeners.delete(listener);
			if (this.listeners.size === 0) void this.close();
		};
	}

	async close(): Promise<void> {
		const subscriber = this.subscriber;
		this.subscriber = undefined;
		await subscriber?.quit().catch(() => subscriber.disconnect());
	}

	private open(): void {
		// Pub/sub is cluster-wide, so one connection hears every batch's channel.
		const subscriber = createBlockingRedis(this.ctx.redisTarget);
		subscriber.on('error', (error: Error) =>
			this.ctx.logger.warn({ err: error.message }, 'ui: batch events connection error'),
		);
		subscriber.on('pmessage', (_pattern: string, channel: string) => {
			// `<prefix>:batch:{<id>}:events`; ids cannot hold braces.
			const batchId = channel.slice(channel.indexOf('{') + 1, channel.lastIndexOf('}'));
			for (const listener of this.listeners) listener(batchId);
		});
		subscriber.psubscribe(this.ctx.keys.batchEventsPattern()).catch((error: Error) => {
			this.ctx.logger.warn({ err: error.message }, 'ui: batch events subscription failed');
		});
		this.subscriber = subscriber;
	}
}
