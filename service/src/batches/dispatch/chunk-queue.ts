import { Job, Queue } from 'bullmq';

import type { ServiceContext } from '../../context';
import { createBlockingRedis, type RedisClient } from '../../redis/connection';
import type { BatchCommands, Followups } from '../state/commands';
import type { BatchReads } from '../state/reads';

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

/**
 * One BullMQ job per chunk (and generation): queued once, delayed for retries, parked, woken.
 * Nothing here reads the clock: callers hand delays measured on Redis TIME.
 */
export class ChunkQueue {
	readonly queue: Queue<ChunkJobData>;
	private readonly connection: RedisClient;

	constructor(
		ctx: ServiceContext,
		private readonly commands: BatchCommands,
		private readonly reads: BatchReads,
	) {
		// Our own connection (BullMQ leaves a passed-in connection open, so close() quits it).
		this.connection = createBlockingRedis(ctx.redisTarget);
		this.connection.on('error', () => undefined);
		this.queue = new Queue<ChunkJobData>(CHUNK_QUEUE, {
			connection: this.connection,
			prefix: ctx.keys.bullPrefix,
			// Nobody reads the queue's event stream; a short one keeps Redis memory flat.
			streams: { events: { maxLen: 100 } },
		});
		this.queue.on('error', (error) => ctx.logger.warn({ err: error.message }, 'chunk queue error'));
	}

	/** Adds jobs for every chunk cut but not yet queued; safe to repeat (job ids dedupe). */
	async enqueuePending(batchId: string, priority?: number): Promise<number> {
		const chunks = await this.reads.unqueued(batchId);
		if (chunks.length === 0) return 0;
		priority ??= (await this.reads.settings(batchId))?.priority ?? 0;
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
		await this.commands.markQueued(batchId, chunks);
		return chunks.length;
	}

	/** Does what a state change left to do with jobs: add new chunks' jobs, wake parked ones. */
	async follow(batchId: string, followups: Followups, priority?: number): Promise<void> {
		if (followups.unqueued) await this.enqueuePending(batchId, priority);
		if (followups.wake && followups.wake.length > 0) await this.wake(batchId, followups.wake);
	}

	/** Moves parked (delayed) chunk jobs to waiting; one that is not delayed any more is skipped. */
	async wake(batchId: string, chunkIndexes: Array<string | number>): Promise<void> {
		for (const { chunkIndex, generation } of await this.reads.generations(batchId, chunkIndexes)) {
			const job = await Job.fromId(this.queue, chunkJobId(batchId, chunkIndex, generation));
			await job?.promote().catch(() => undefined);
		}
	}

	/** Removes queued jobs of a cancelled, aborted or deleted batch; running ones stop by themselves. */
	async removeQueued(batchId: string): Promise<void> {
		const chunks = await this.reads.allChunks(batchId);
		for (let i = 0; i < chunks.length; i += 500) {
			await Promise.all(
				chunks
					.slice(i, i + 500)
					.map(({ chunkIndex, generation }) =>
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
