import type { Redis } from 'ioredis';

import type { ServiceContext } from '../context';
import { createBlockingRedis } from '../redis/connection';

/**
 * State changes of batches, from the PUBLISH in the batch scripts. One pattern subscription per
 * process, opened on first use; long-polls wait on it instead of polling Redis.
 */
export class BatchEvents {
	private subscriber?: Redis;
	private subscribed?: Promise<unknown>;
	private readonly listeners = new Map<string, Set<() => void>>();
	private readonly head: string;
	private readonly tail = ':events';

	constructor(private readonly ctx: ServiceContext) {
		this.head = ctx.keys.batch('').slice(0, -2) + '{';
	}

	/** A promise for the batch's next state change; call cancel() when no longer waiting. */
	async listen(batchId: string): Promise<{ changed: Promise<void>; cancel: () => void }> {
		let fire!: () => void;
		const changed = new Promise<void>((resolve) => (fire = resolve));
		let set = this.listeners.get(batchId);
		if (!set) this.listeners.set(batchId, (set = new Set()));
		set.add(fire);
		const cancel = (): void => {
			set.delete(fire);
			if (set.size === 0) this.listeners.delete(batchId);
			fire();
		};
		await this.connect();
		return { changed, cancel };
	}

	async close(): Promise<void> {
		for (const set of this.listeners.values()) for (const fire of set) fire();
		this.listeners.clear();
		const subscriber = this.subscriber;
		this.subscriber = undefined;
		this.subscribed = undefined;
		await subscriber?.quit().catch(() => subscriber.disconnect());
	}

	private connect(): Promise<unknown> {
		if (!this.subscribed) {
			const subscriber = createBlockingRedis(this.ctx.redisUrl);
			subscriber.on('error', (error) =>
				this.ctx.logger.warn({ err: error.message }, 'batch events connection error'),
			);
			subscriber.on('pmessage', (_pattern: string, channel: string) => {
				const batchId = channel.slice(this.head.length, -(this.tail.length + 1));
				const set = this.listeners.get(batchId);
				if (!set) return;
				this.listeners.delete(batchId);
				for (const fire of set) fire();
			});
			this.subscriber = subscriber;
			this.subscribed = subscriber.psubscribe(`${this.head}*}${this.tail}`);
		}
		return this.subscribed;
	}
}
