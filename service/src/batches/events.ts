import type { ServiceContext } from '../context';
import { createBlockingRedis, type RedisClient } from '../redis/connection';

export type BatchEventListener = (batchId: string, state: string) => void;

/**
 * Changes of batches, from the PUBLISH every batch script makes after a change (the message is
 * the batch's state). One pattern subscription per process, opened on first use; long-polls,
 * paced dispatches and the live page wait on it instead of polling Redis.
 */
export class BatchEvents {
	private subscriber?: RedisClient;
	private subscribed?: Promise<unknown>;
	private readonly perBatch = new Map<string, Set<BatchEventListener>>();
	private readonly everyBatch = new Set<BatchEventListener>();

	constructor(private readonly ctx: ServiceContext) {}

	/** A promise for the batch's next change (resolving to its state); cancel() when done waiting. */
	async next(batchId: string): Promise<{ changed: Promise<string>; cancel: () => void }> {
		let fire!: (state: string) => void;
		const changed = new Promise<string>((resolve) => (fire = resolve));
		const stopListening = (): void => {
			const set = this.perBatch.get(batchId);
			set?.delete(listener);
			if (set?.size === 0) this.perBatch.delete(batchId);
		};
		// The state goes out first: a promise settles once, so what it answers is what came.
		const listener: BatchEventListener = (_id, state) => {
			fire(state);
			stopListening();
		};
		const cancel = (): void => {
			fire('');
			stopListening();
		};
		let set = this.perBatch.get(batchId);
		if (!set) this.perBatch.set(batchId, (set = new Set()));
		set.add(listener);
		await this.connect();
		return { changed, cancel };
	}

	/** Every change of every batch, until the returned function is called. */
	async onAny(listener: BatchEventListener): Promise<() => void> {
		this.everyBatch.add(listener);
		await this.connect();
		return () => this.everyBatch.delete(listener);
	}

	async close(): Promise<void> {
		for (const set of this.perBatch.values()) for (const listener of set) listener('', '');
		this.perBatch.clear();
		this.everyBatch.clear();
		const subscriber = this.subscriber;
		this.subscriber = undefined;
		this.subscribed = undefined;
		await subscriber?.quit().catch(() => subscriber.disconnect());
	}

	private connect(): Promise<unknown> {
		if (!this.subscribed) {
			const subscriber = createBlockingRedis(this.ctx.redisTarget);
			subscriber.on('error', (error: Error) =>
				this.ctx.logger.warn({ err: error.message }, 'batch events connection error'),
			);
			const pattern = this.ctx.keys.batchEventsPattern();
			const head = pattern.indexOf('{') + 1;
			const tail = pattern.length - pattern.indexOf('}');
			subscriber.on('pmessage', (_pattern: string, channel: string, state: string) => {
				const batchId = channel.slice(head, channel.length - tail);
				for (const listener of this.everyBatch) listener(batchId, state);
				const set = this.perBatch.get(batchId);
				if (set) for (const listener of [...set]) listener(batchId, state);
			});
			this.subscriber = subscriber;
			this.subscribed = subscriber.psubscribe(pattern).catch((error: Error) => {
				this.subscribed = undefined;
				throw error;
			});
		}
		return this.subscribed;
	}
}
