import { randomBytes } from 'node:crypto';
import { DelayedError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';

import type { ServiceContext } from '../context';
import { counter } from '../metrics';
import { createBlockingRedis } from '../redis/connection';
import type { Breaker } from './breaker';
import { CHUNK_QUEUE, type ChunkJobData, type ChunkQueue } from './chunk-queue';
import { deliverChunk } from './delivery';
import type { Pacer } from './pacer';
import type { BatchSettings, BatchStore, LeasedItem, SettleResult } from './store';

/** A parked job's safety wake-up, in case the promote that should wake it was lost. */
const PARK_MS = 60_000;
/** Dispatches of one chunk per job run before it yields its place to other chunks. */
const MAX_ROUNDS = 10;

const dispatchedItems = counter(
	'bg_batch_dispatched_items_total',
	'Items POSTed to worker webhooks',
	['outcome'],
);

export const newLeaseId = (): string =>
	`l-${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;

export interface DispatcherHooks {
	/** After outcomes were recorded: wake parked chunks, send milestones, drop cancelled jobs. */
	afterSettle(settings: BatchSettings, result: SettleResult): Promise<void>;
}

/**
 * The BullMQ worker that runs chunk jobs: lease the chunk's due items, pace by the limiter, POST,
 * record the outcome of every item the worker did not record itself, then delay the job to the
 * next retry or finish it. BullMQ's lock and stalled-job check hand a dead process's chunks to
 * another; leases make sure only items that never reported are sent again.
 */
export class Dispatcher {
	private worker?: Worker<ChunkJobData>;
	private connection?: Redis;
	private readonly shutdown = new AbortController();

	constructor(
		private readonly ctx: ServiceContext,
		private readonly store: BatchStore,
		private readonly chunks: ChunkQueue,
		private readonly breaker: Breaker,
		private readonly pacer: Pacer,
		private readonly hooks: DispatcherHooks,
	) {}

	start(): void {
		if (this.worker) return;
		const { config } = this.ctx;
		this.connection = createBlockingRedis(this.ctx.redisUrl);
		this.worker = new Worker<ChunkJobData>(CHUNK_QUEUE, (job, token) => this.process(job, token), {
			connection: this.connection,
			prefix: this.ctx.keys.bullPrefix,
			concurrency: config.DISPATCH_CONCURRENCY,
			lockDuration: config.DISPATCH_LOCK_MS,
			stalledInterval: config.DISPATCH_LOCK_MS,
			// A stalled chunk is safe to run again (leases guard its items), so never fail it for that.
			maxStalledCount: 1_000_000,
		});
		this.worker.on('error', (error) =>
			this.ctx.logger.warn({ err: error.message }, 'chunk worker error'),
		);
	}

	/** Stops taking chunks; in-flight POSTs get graceMs to finish, then are released. */
	async stop(graceMs: number): Promise<void> {
		const worker = this.worker;
		if (!worker) return;
		this.worker = undefined;
		const closing = worker.close();
		const timer = setTimeout(() => this.shutdown.abort(), graceMs);
		await closing.finally(() => clearTimeout(timer));
		await this.connection?.quit().catch(() => this.connection?.disconnect());
	}

	private async process(job: Job<ChunkJobData>, token?: string): Promise<void> {
		const { batchId, chunkIndex, generation } = job.data;
		const log = this.ctx.logger.child({ batchId, chunkIndex });
		for (let round = 0; round < MAX_ROUNDS; round++) {
			const settings = await this.store.settings(batchId);
			if (!settings?.targetUrl) return;
			const gate = await this.breaker.acquire(settings.targetUrl, settings.timeoutMs);
			if (!gate.go) return this.delay(job, token, gate.retryAt);
			const lease = newLeaseId();
			const leaseMs =
				settings.timeoutMs +
				this.ctx.config.LEASE_GRACE_MS +
				(settings.limiterKey ? this.ctx.config.LIMITER_MAX_WAIT_MS : 0);
			const start = await this.store.dispatchStart(batchId, chunkIndex, generation, lease, leaseMs);
			if (start.kind !== 'leased' && gate.probe)
				await this.breaker.record(settings.targetUrl, 'release');
			if (start.kind === 'done' || start.kind === 'wait')
				await this.chunks.wake(batchId, start.wake);
			switch (start.kind) {
				case 'stop':
				case 'done':
					return;
				case 'paused':
					return this.park(job, token, batchId, chunkIndex, Date.now() + PARK_MS);
				case 'busy':
					return this.park(
						job,
						token,
						batchId,
						chunkIndex,
						Math.min(Date.now() + PARK_MS, start.slotExp + 50),
					);
				case 'wait':
					return this.delay(job, token, start.wakeAt);
			}
			const keys = start.items.map((item) => item.key);
			const paced = await this.pacer.pace(settings.limiterKey, start.items.length, log);
			if (!paced.granted || this.shutdown.signal.aborted) {
				await this.chunks.wake(batchId, await this.store.release(batchId, lease, keys));
				if (gate.probe) await this.breaker.record(settings.targetUrl, 'release');
				return this.delay(job, token, Date.now() + paced.retryAfterMs);
			}
			const done = await this.send(settings, chunkIndex, lease, start.items, gate.probe, log);
			if (!done) return this.delay(job, token, start.leaseExp);
		}
		return this.delay(job, token, Date.now());
	}

	/** POSTs one dispatch and records its outcome; false when shutdown cut it short. */
	private async send(
		settings: BatchSettings,
		chunkIndex: number,
		lease: string,
		items: LeasedItem[],
		probe: boolean,
		log: ServiceContext['logger'],
	): Promise<boolean> {
		const targetUrl = settings.targetUrl as string;
		const attempt = Math.max(...items.map((item) => item.attempt));
		const result = await deliverChunk(
			targetUrl,
			{ batchId: settings.batchId, chunkIndex, attempt, lease, items },
			{
				timeoutMs: settings.timeoutMs,
				secret: this.ctx.config.DISPATCH_SECRET,
				shutdown: this.shutdown.signal,
			},
		);
		if ('shutdown' in result) {
			// Leases stay: the worker may still record; another process re-sends the rest after expiry.
			if (probe) await this.breaker.record(targetUrl, 'release');
			log.info({ lease }, 'shutdown: in-flight chunk released to lease expiry');
			return false;
		}
		const failure = result.ok ? undefined : result.failure;
		await this.breaker.record(targetUrl, failure?.transient ? 'failure' : 'success');
		dispatchedItems.inc({ outcome: failure ? failure.errorClass : 'ok' }, items.length);
		if (failure) log.warn({ lease, errorClass: failure.errorClass }, failure.message);
		const settled = await this.store.settle(
			settings.batchId,
			lease,
			lease,
			items.map((item) => ({
				key: item.key,
				succeeded: !failure,
				transient: failure?.transient,
				errorClass: failure?.errorClass,
				message: failure?.message,
				httpCode: failure?.httpCode,
				retryAfterMs: failure?.retryAfterMs,
			})),
		);
		await this.hooks.afterSettle(settings, settled);
		return true;
	}

	private async delay(
		job: Job<ChunkJobData>,
		token: string | undefined,
		at: number,
	): Promise<never> {
		await job.moveToDelayed(Math.max(at, Date.now()), token);
		throw new DelayedError();
	}

	/** Parks the job (delayed, safety wake-up later); wakes it at once if its reason went away. */
	private async park(
		job: Job<ChunkJobData>,
		token: string | undefined,
		batchId: string,
		chunkIndex: number,
		wakeAt: number,
	): Promise<never> {
		await job.moveToDelayed(wakeAt, token);
		if (await this.store.park(batchId, chunkIndex)) await job.promote().catch(() => undefined);
		throw new DelayedError();
	}
}
