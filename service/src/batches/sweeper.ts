import type { ServiceContext } from '../context';
import type { ChunkQueue } from './dispatch/chunk-queue';
import type { Notices } from './notices';
import type { BatchCommands } from './state/commands';

/** A listed batch whose hash never appeared (a crash between index and create) is dropped after this. */
const DANGLING_MS = 60_000;
const PAGE = 200;

/**
 * Every SWEEP_INTERVAL_MS, in every process: for each unfinished batch (all of them, page by
 * page), settle expired leases (batches worked only by Claim have no dispatch to do it), add chunk
 * jobs a crash kept from being added, and restart notice delivery; finished batches with nothing
 * left to send leave the active set. Also walks the batch index a page per turn and drops entries
 * of batches that expired or never got created.
 */
export class Sweeper {
	private timer?: NodeJS.Timeout;
	private running?: Promise<void>;
	private indexCursor = 0;

	constructor(
		private readonly ctx: ServiceContext,
		private readonly commands: BatchCommands,
		private readonly chunks: ChunkQueue,
		private readonly notices: Notices,
	) {}

	start(): void {
		if (this.timer) return;
		this.timer = setInterval(() => {
			if (this.running) return;
			this.running = this.sweep()
				.catch((error: unknown) =>
					this.ctx.logger.warn({ err: (error as Error).message }, 'batch sweep failed'),
				)
				.finally(() => (this.running = undefined));
		}, this.ctx.config.SWEEP_INTERVAL_MS);
		this.timer.unref();
	}

	async stop(): Promise<void> {
		clearInterval(this.timer);
		this.timer = undefined;
		await this.running;
	}

	/** One full pass; exported for tests. */
	async sweep(): Promise<void> {
		const active = this.ctx.keys.activeBatches();
		for (let offset = 0; ; offset += PAGE) {
			const page = await this.ctx.redis.zrange(active, offset, offset + PAGE - 1, 'WITHSCORES');
			if (page.length === 0) break;
			for (let i = 0; i < page.length; i += 2) {
				if (await this.sweepBatch(page[i], Number(page[i + 1]))) offset--;
			}
		}
		await this.sweepIndex();
	}

	/** Answers true when the batch left the active set. */
	private async sweepBatch(batchId: string, listedAt: number): Promise<boolean> {
		const reply = await this.commands.sweep(batchId);
		if (!reply.exists) {
			if (reply.now - listedAt < DANGLING_MS) return false;
			await this.ctx.redis.zrem(this.ctx.keys.activeBatches(), batchId);
			return true;
		}
		if (reply.unqueued && reply.unqueued.length > 0) await this.chunks.enqueuePending(batchId);
		if (reply.outbox) await this.notices.follow(batchId, reply.outbox);
		const finished = ['completed', 'completed_with_errors', 'aborted', 'cancelled'].includes(
			reply.state ?? '',
		);
		if (finished && !reply.outbox && !reply.unqueued?.length) {
			await this.ctx.redis.zrem(this.ctx.keys.activeBatches(), batchId);
			return true;
		}
		return false;
	}

	private async sweepIndex(): Promise<void> {
		const index = this.ctx.keys.batchIndex();
		const page = await this.ctx.redis.zrange(
			index,
			this.indexCursor,
			this.indexCursor + PAGE - 1,
			'WITHSCORES',
		);
		if (page.length === 0) {
			this.indexCursor = 0;
			return;
		}
		const now = Number((await this.ctx.redis.time())[0]) * 1000;
		let removed = 0;
		for (let i = 0; i < page.length; i += 2) {
			const batchId = page[i];
			if (now - Number(page[i + 1]) < DANGLING_MS) continue;
			if ((await this.ctx.redis.exists(this.ctx.keys.batch(batchId))) === 0) {
				await this.ctx.redis.zrem(index, batchId);
				removed++;
			}
		}
		this.indexCursor += page.length / 2 - removed;
	}
}
