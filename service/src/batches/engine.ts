import type { ServiceContext } from '../context';
import { notFound } from '../http/errors';
import { Breaker } from './breaker';
import { ChunkQueue } from './chunk-queue';
import { Dispatcher, newLeaseId } from './dispatcher';
import { BatchEvents } from './events';
import { notifyMilestone } from './milestones';
import { Pacer } from './pacer';
import { loadBatch, readDeadLetters, type LoadedBatch } from './progress';
import { buildReport } from './report';
import {
	TERMINAL_STATES,
	type BatchProgress,
	type CreateBatchInput,
	type ResultError,
} from './schemas';
import { failureOfRecord } from './outcomes';
import { BatchStore, type BatchSettings, type SettleResult } from './store';

/** Re-queues chunks whose job add was lost (a crash between cutting a chunk and adding its job). */
const SWEEP_MS = 30_000;

/** The batch feature's engine: what the HTTP handlers call; owns the queue and the dispatcher. */
export class BatchEngine {
	readonly store: BatchStore;
	readonly chunks: ChunkQueue;
	private readonly breaker: Breaker;
	private readonly events: BatchEvents;
	private dispatcher?: Dispatcher;
	private sweeper?: NodeJS.Timeout;

	constructor(private readonly ctx: ServiceContext) {
		this.store = new BatchStore(ctx);
		this.chunks = new ChunkQueue(ctx, this.store);
		this.breaker = new Breaker(ctx, this.store);
		this.events = new BatchEvents(ctx);
	}

	startDispatcher(): void {
		if (this.dispatcher) return;
		this.dispatcher = new Dispatcher(
			this.ctx,
			this.store,
			this.chunks,
			this.breaker,
			new Pacer(this.ctx),
			{ afterSettle: (settings, result) => this.afterSettle(settings, result) },
		);
		this.dispatcher.start();
		this.sweeper = setInterval(() => {
			this.sweep().catch((error: unknown) =>
				this.ctx.logger.warn({ err: (error as Error).message }, 'chunk sweep failed'),
			);
		}, SWEEP_MS);
		this.sweeper.unref();
	}

	/** Stops taking chunks (in-flight ones get graceMs), ends long-polls, closes connections. */
	async stop(graceMs: number): Promise<void> {
		clearInterval(this.sweeper);
		await this.dispatcher?.stop(graceMs);
		await this.events.close();
		await this.chunks.close();
	}

	async create(input: CreateBatchInput): Promise<BatchProgress & { created: boolean }> {
		const { created } = await this.store.create(input);
		return { created, ...(await this.progress(input.batchKey)) };
	}

	async append(batchId: string, items: Array<{ key: string; json: unknown }>, final: boolean) {
		const { accepted, duplicates } = await this.store.append(batchId, items);
		if (final) await this.store.seal(batchId);
		await this.enqueue(batchId);
		const progress = await this.progress(batchId);
		return { batchId, accepted, duplicates, state: progress.state, counts: progress.counts };
	}

	async seal(batchId: string): Promise<BatchProgress> {
		await this.store.seal(batchId);
		await this.enqueue(batchId);
		return this.progress(batchId);
	}

	async progress(batchId: string): Promise<BatchProgress> {
		return (await this.load(batchId)).progress;
	}

	async list(state: string | undefined, limit: number, cursor: number) {
		const batches: BatchProgress[] = [];
		let offset = cursor;
		// Bounded scan: a filter that matches little answers a short page with a nextCursor.
		for (let scanned = 0; batches.length < limit && scanned < 2000; scanned += 200) {
			const ids = await this.ctx.redis.zrevrange(this.ctx.keys.batchIndex(), offset, offset + 199);
			if (ids.length === 0) return { batches, nextCursor: null };
			for (const id of ids) {
				offset++;
				const loaded = await loadBatch(this.ctx, this.store, this.breaker, id);
				if (loaded && (!state || loaded.progress.state === state)) batches.push(loaded.progress);
				if (batches.length >= limit) break;
			}
		}
		const more = (await this.ctx.redis.zcard(this.ctx.keys.batchIndex())) > offset;
		return { batches, nextCursor: more ? String(offset) : null };
	}

	/** Long-poll: answers when the batch is finished, or when timeoutMs is up. */
	async wait(batchId: string, timeoutMs: number, gone: AbortSignal) {
		const deadline = Date.now() + timeoutMs;
		for (;;) {
			const listening = await this.events.listen(batchId);
			let progress: BatchProgress;
			try {
				progress = await this.progress(batchId);
			} catch (error) {
				listening.cancel();
				throw error;
			}
			const done = TERMINAL_STATES.has(progress.state);
			const left = deadline - Date.now();
			if (done || left <= 0 || gone.aborted) {
				listening.cancel();
				return { done, progress };
			}
			let timer: NodeJS.Timeout | undefined;
			const onGone = (): void => listening.cancel();
			gone.addEventListener('abort', onGone, { once: true });
			await Promise.race([
				listening.changed,
				new Promise((resolve) => (timer = setTimeout(resolve, left))),
			]);
			clearTimeout(timer);
			gone.removeEventListener('abort', onGone);
			listening.cancel();
		}
	}

	async control(batchId: string, op: 'pause' | 'resume' | 'cancel' | 'concurrency', value = 0) {
		const { wake } = await this.store.control(batchId, op, value);
		await this.chunks.wake(batchId, wake);
		if (op === 'cancel') await this.chunks.removeQueued(batchId);
		return this.progress(batchId);
	}

	async deadLetters(batchId: string, limit: number, errorClass?: string) {
		await this.load(batchId);
		return readDeadLetters(this.ctx, this.store, batchId, limit, errorClass);
	}

	async replay(batchId: string, errorClass?: string) {
		const { replayed } = await this.store.replay(batchId, errorClass);
		await this.enqueue(batchId);
		return { replayed, errorClass: errorClass ?? null, ...(await this.progress(batchId)) };
	}

	async report(batchId: string) {
		const batch = await this.load(batchId);
		const { deadLetters } = await readDeadLetters(this.ctx, this.store, batchId, 1000);
		const classes = await this.ctx.redis.hgetall(this.store.part(batchId, 'dead-classes'));
		return buildReport(batch, deadLetters, classes);
	}

	async claim(batchId: string, keys: string[], lease: string | undefined, leaseMs: number) {
		const newLease = newLeaseId();
		const answer = await this.store.claim(batchId, keys, lease, newLease, leaseMs);
		return { ...answer, lease: lease ?? newLease };
	}

	async record(
		batchId: string,
		lease: string | undefined,
		results: Array<{ key: string; status: 'succeeded' | 'failed'; error?: ResultError }>,
	) {
		const settled = await this.store.settle(
			batchId,
			lease,
			undefined,
			results.map((result) =>
				result.status === 'succeeded'
					? { key: result.key, succeeded: true }
					: { key: result.key, succeeded: false, ...failureOfRecord(result.error) },
			),
		);
		const settings = await this.store.settings(batchId);
		if (settings) await this.afterSettle(settings, settled);
		const { succeeded, retryScheduled, deadLettered, ignored } = settled;
		return { succeeded, retryScheduled, deadLettered, ignored };
	}

	private async afterSettle(settings: BatchSettings, result: SettleResult): Promise<void> {
		await this.chunks.wake(settings.batchId, result.wake);
		if (result.newState === 'aborted') {
			this.ctx.logger.warn(
				{ batchId: settings.batchId },
				'batch aborted: failure threshold passed',
			);
			await this.chunks.removeQueued(settings.batchId);
		}
		if (result.milestone > 0 && settings.milestoneUrl) {
			notifyMilestone(
				this.ctx,
				settings.milestoneUrl,
				result.milestone,
				await this.progress(settings.batchId),
			);
		}
	}

	private async enqueue(batchId: string): Promise<void> {
		const settings = await this.store.settings(batchId);
		if (settings?.targetUrl) await this.chunks.enqueuePending(batchId, settings.priority);
	}

	private async sweep(): Promise<void> {
		const ids = await this.ctx.redis.zrevrange(this.ctx.keys.batchIndex(), 0, 999);
		for (const id of ids) {
			if ((await this.ctx.redis.scard(this.store.part(id, 'unqueued'))) > 0) await this.enqueue(id);
		}
	}

	private async load(batchId: string): Promise<LoadedBatch> {
		const loaded = await loadBatch(this.ctx, this.store, this.breaker, batchId);
		if (!loaded) throw notFound(`No batch '${batchId}'; Submit Batch returns the batchId to use`);
		return loaded;
	}
}
