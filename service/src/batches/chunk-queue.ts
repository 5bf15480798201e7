import { Job, Queue } from 'bullmq';

import type { ServiceContext } from '../context';
import { createBlockingRedis } from '../redis/connection';
import type { BatchStore } from './store';

export const CHUNK_QUEUE = 'batch-chunks';

/** A chunk job carries references only; the items stay in the batch's Redis hashes. */
export interface ChunkJobData {
	batchId: string;
	chunkIndex: number;
	generation: number;
}

/** BullMQ ids may not contain ':' (batch ids may); '~' never appears in ids, so this is unambiguous. */
export function chunkJobId(batchId: string, chunkIndex: number, generation: number): string {
	return `${batchId.replaceAll(':', '~')}~${chunkIndex}~${generation}`;
}

/** One BullMQ job per chunk (and generation): queued once, delayed for retries, parked, woken. */
export class ChunkQueue {
	readonly queue: Queue<ChunkJobData>;
	private readonly connection;

	constructor(
		private readonly ctx: ServiceContext,
		private readonly store: BatchStore,
	) {
		// Our own connection (BullMQ leaves a passed-in connection open, so close() quits it).
		this.connection = createBlockingRedis(ctx.redisUrl);
		this.queue = new Queue<ChunkJobData>(CHUNK_QUEUE, {
			connection: this.connection,
			prefix: ctx.keys.bullPrefix,
		});
		this.queue.on('error', (error) => ctx.logger.warn({ err: error.message }, 'chunk queue error'));
	}

	/** Adds jobs for every chunk cut but not yet queued; safe to repeat (job ids dedupe). */
	async enqueuePending(batchId: string, priority: number): Promise<number> {
		const chunks = await this.store.unqueuedChunks(batchId);
		if (chunks.length === 0) return 0;
		await this.queue.addBulk(
			chunks.map(({ chunkIndex, generation }) => ({
				name: 'chunk',
				data: { batchId, chunkIndex, generation },
				opts: {
					jobId: chunkJobId(batchId, chunkIndex, generation),
					// BullMQ: 1 is its highest priority; ours is 0.
					priority: priority + 1,
					removeOnComplete: true,
					removeOnFail: 1000,
					// Only unexpected errors (Redis away) fail a job; it is retried, items keep their leases.
					attempts: 1000,
					backoff: { type: 'exponential', delay: 1000 },
				},
			})),
		);
		await this.store.markQueued(
			batchId,
			chunks.map((c) => c.chunkIndex),
		);
		return chunks.length;
	}

	/** Moves parked (delayed) chunk jobs to waiting; one that is not delayed any more is skipped. */
	async wake(batchId: string, chunkIndexes: string[]): Promise<void> {
		for (const { chunkIndex, generation } of await this.store.withGenerations(
			batchId,
			chunkIndexes,
		)) {
			const job = await Job.fromId(this.queue, chunkJobId(batchId, chunkIndex, generation));
			await job?.promote().catch(() => undefined);
		}
	}

	/** Removes queued jobs of a cancelled or aborted batch; running ones stop by themselves. */
	async removeQueued(batchId: string): Promise<void> {
		const total = Number(await this.ctx.redis.hget(this.store.key(batchId), 'chunksTotal'));
		const indexes = Array.from({ length: Math.min(total, 100_000) }, (_, i) => i);
		for (let i = 0; i < indexes.length; i += 500) {
			const chunks = await this.store.withGenerations(batchId, indexes.slice(i, i + 500));
			await Promise.all(
				chunks.map(({ chunkIndex, generation }) =>
					this.queue.remove(chunkJobId(batchId, chunkIndex, generation)).catch(() => 0),
				),
			);
		}
	}

	async close(): Promise<void> {
		await this.queue.close();
		await this.connection.quit().catch(() => this.connection.disconnect());
	}
}
