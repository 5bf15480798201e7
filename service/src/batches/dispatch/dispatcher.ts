import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { DelayedError, Worker, type Job } from 'bullmq';

import type { ServiceContext } from '../../context';
import { ApiError } from '../../http/errors';
import type { Logger } from '../../logger';
import { counter } from '../../metrics';
import { createBlockingRedis, type RedisClient } from '../../redis/connection';
import { whileRedisAway } from '../../redis/retry';
import type { Notices } from '../notices';
import type { BatchCommands, StartReply } from '../state/commands';
import { breakerTarget, type BatchReads, type BatchSettings } from '../state/reads';
import { setCircuitState, startChunk } from '../../observability/metrics';
import { targetDigest, type Breaker, type BreakerGate } from './breaker';
import { CHUNK_QUEUE, type ChunkJobData, type ChunkQueue } from './chunk-queue';
import { breakerOutcome, deliverChunk, dispatchAnswer } from './delivery';
import type { DirectSender } from './direct';
import type { Pacer } from './pacer';

/** A parked job's safety wake-up, in case the promote that should wake it was lost. */
const PARK_MS = 60_000;
/** How long a batch's settings are reused before they are read again. */
const SETTINGS_TTL_MS = 5_000;
/** Dispatches of one chunk per job run before it yields its place to other chunks. */
const MAX_ROUNDS = 10;

const dispatchedItems = counter(
	'bg_batch_dispatched_items_total',
	'Items POSTed to worker webhooks, by how the POST ended',
	['outcome'],
);

export const newLeaseId = (): string =>
	`l-${randomBytes(9).toString('base64url').replace(/[-_]/g, 'x')}`;

type Leased = Extract<StartReply, { kind: 'leased' }>;

/**
 * The BullMQ worker that runs chunk jobs: pace by the limiter (nothing leased yet), lease the
 * chunk's due items, POST them, settle what the answer says about the items the worker did not
 * record itself, then delay the job to the next due time or finish it. BullMQ's lock and
 * stalled-job check hand a dead process's chunks to another; leases make sure only items that
 * never reported are sent again. Every delay is measured on Redis TIME (`now` of each reply).
 */
export class Dispatcher {
	private worker?: Worker<ChunkJobData>;
	private connection?: RedisClient;
	private readonly shutdown = new AbortController();
	private readonly settingsCache = new Map<
		string,
		{ settings: BatchSettings | null; at: number }
	>();

	constructor(
		private readonly ctx: ServiceContext,
		private readonly commands: BatchCommands,
		private readonly reads: BatchReads,
		private readonly chunks: ChunkQueue,
		private readonly breaker: Breaker,
		private readonly pacer: Pacer,
		private readonly notices: Notices,
		private readonly direct?: DirectSender,
	) {
		// Every dispatch in flight listens for shutdown.
		setMaxListeners(0, this.shutdown.signal);
	}

	start(): void {
		if (this.worker) return;
		const { config } = this.ctx;
		this.connection = createBlockingRedis(this.ctx.redisTarget);
		this.connection.on('error', () => undefined);
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

	/** Stops taking chunks; in-flight POSTs get graceMs to finish, then are cut and left in doubt. */
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
		try {
			return await this.rounds(job, token);
		} catch (error) {
			// The batch was deleted (or expired) under its job: nothing left to do, no retry.
			if (error instanceof ApiError && error.status === 404) return;
			throw error;
		}
	}

	private async rounds(job: Job<ChunkJobData>, token?: string): Promise<void> {
		const { batchId, chunkIndex, generation } = job.data;
		const log = this.ctx.logger.child({ batchId, chunkIndex, generation });
		for (let round = 0; round < MAX_ROUNDS; round++) {
			const settings = await this.settingsOf(batchId);
			const target = settings && breakerTarget(settings);
			if (!settings || !target) return;
			const gate = await this.breaker.acquire(target, settings.timeoutMs);
			setCircuitState(
				targetDigest(target),
				gate.go ? (gate.probe ? 'half_open' : 'closed') : 'open',
			);
			if (!gate.go) return this.delay(job, token, gate.retryAt - gate.now);
			let tokens = 0;
			let maxItems = 0;
			// Direct delivery paces each message itself; a webhook chunk pays for its items up front.
			if (settings.limiterKey && settings.delivery === 'webhook') {
				const peek = await this.commands.peek(batchId, chunkIndex, generation);
				if (peek.kind !== 'ready') {
					await this.releaseProbe(settings, gate);
					return this.idle(job, token, batchId, peek);
				}
				const paced = await this.pacer.pace(settings.limiterKey, peek.due, {
					batchId,
					shutdown: this.shutdown.signal,
					log,
				});
				if (!paced.granted) {
					await this.releaseProbe(settings, gate);
					return this.delay(job, token, paced.retryAfterMs);
				}
				tokens = paced.tokens;
				maxItems = paced.tokens > 0 ? peek.due : 0;
			}
			const lease = newLeaseId();
			const leaseMs = settings.timeoutMs + this.ctx.config.LEASE_GRACE_MS;
			const start = await this.commands.startDispatch(
				batchId,
				chunkIndex,
				generation,
				lease,
				leaseMs,
				maxItems,
			);
			const leased = start.kind === 'leased' ? start.items.length : 0;
			await this.pacer.giveBack(settings.limiterKey, tokens - leased);
			if (start.kind !== 'leased') {
				await this.releaseProbe(settings, gate);
				return this.idle(job, token, batchId, start);
			}
			await this.chunks.follow(batchId, start, settings.priority);
			await this.notices.follow(batchId, start.notices);
			if (this.shutdown.signal.aborted) {
				const { wake } = await this.commands.releaseDispatch(batchId, lease);
				await this.chunks.wake(batchId, wake);
				await this.releaseProbe(settings, gate);
				return;
			}
			const left =
				settings.delivery === 'smtp'
					? await this.sendDirect(settings, chunkIndex, lease, start, gate, log)
					: await this.send(settings, chunkIndex, lease, start, gate, log);
			if (this.shutdown.signal.aborted || left === 0) return;
		}
		return this.delay(job, token, 0);
	}

	/** Batch settings are fixed at creation (concurrency lives in Lua), so a short cache is safe. */
	private async settingsOf(batchId: string): Promise<BatchSettings | null> {
		const cached = this.settingsCache.get(batchId);
		if (cached && performance.now() - cached.at < SETTINGS_TTL_MS) return cached.settings;
		const settings = await this.reads.settings(batchId);
		if (this.settingsCache.size > 10_000) this.settingsCache.clear();
		this.settingsCache.set(batchId, { settings, at: performance.now() });
		return settings;
	}

	/** POSTs one dispatch and settles what its answer says. */
	private async send(
		settings: BatchSettings,
		chunkIndex: number,
		lease: string,
		start: Leased,
		gate: BreakerGate,
		chunkLog: Logger,
	): Promise<number> {
		const targetUrl = settings.targetUrl as string;
		const attempt = Math.max(...start.items.map((item) => item.attempt));
		// Every line about this dispatch names its batch, chunk, lease and attempt.
		const log = chunkLog.child({ lease, attempt });
		const sentAt = performance.now();
		// The lease's end on the local monotonic clock: how long an outcome may be retried.
		const leaseDeadline = sentAt + (start.leaseExp - start.now);
		const endChunk = startChunk(settings.batchId);
		const result = await deliverChunk(
			targetUrl,
			{
				batchId: settings.batchId,
				chunkIndex,
				attempt,
				lease,
				items: start.items,
			},
			{
				timeoutMs: settings.timeoutMs,
				secret: this.ctx.config.DISPATCH_SECRET,
				shutdown: this.shutdown.signal,
			},
		);
		const durationMs = performance.now() - sentAt;
		const answer = dispatchAnswer(result, settings.inDoubt);
		const outcome = breakerOutcome(result, answer);
		dispatchedItems.inc({ outcome: answer.mode }, start.items.length);
		if ('errorClass' in answer) {
			log.warn({ errorClass: answer.errorClass, mode: answer.mode }, answer.message);
		}
		const closed = await whileRedisAway(
			() => this.commands.closeDispatch(settings.batchId, lease, answer, durationMs),
			leaseDeadline,
			{
				onRetry: (error, retry) =>
					log.warn(
						{ retry, err: (error as Error).message },
						'Redis away: retrying to record the dispatch outcome',
					),
			},
		);
		endChunk(answer.mode === 'ok' ? 'ok' : 'failed');
		if (closed.chunkSize) {
			log.info(
				{
					from: closed.chunkSize.from,
					to: closed.chunkSize.to,
					durationMs: Math.round(durationMs),
				},
				'adaptive chunk size changed',
			);
		}
		// The outcome is recorded; what follows can be redone by the sweep if Redis fails it now.
		try {
			await this.recordBreaker(settings, outcome, gate, log);
			await this.chunks.follow(settings.batchId, closed, settings.priority);
			await this.notices.follow(settings.batchId, closed.notices);
			if (closed.state === 'aborted') {
				log.warn('batch aborted: failure threshold passed');
				await this.chunks.removeQueued(settings.batchId);
			}
		} catch (error) {
			log.warn(
				{ err: (error as Error).message },
				'after a dispatch: follow-up failed; the sweep redoes it',
			);
		}
		return closed.chunkLeft;
	}

	/**
	 * Direct delivery: the sender marks each item before its transaction and records each outcome;
	 * then the dispatch is closed: items it never marked go back, open ones stay in doubt.
	 */
	private async sendDirect(
		settings: BatchSettings,
		chunkIndex: number,
		lease: string,
		start: Leased,
		gate: BreakerGate,
		chunkLog: Logger,
	): Promise<number> {
		const log = chunkLog.child({ lease, attempt: Math.max(...start.items.map((i) => i.attempt)) });
		const deadline = performance.now() + (start.leaseExp - start.now);
		const whileAway = <T>(operation: () => Promise<T>) =>
			whileRedisAway(operation, deadline, {
				onRetry: (error, retry) =>
					log.warn({ retry, err: (error as Error).message }, 'Redis away: retrying'),
			});
		let succeeded = 0;
		let transient = 0;
		const endChunk = startChunk(settings.batchId);
		if (!this.direct) {
			// Nothing here can ever send it (the transport went from the configuration): say so once
			// per item instead of giving items back to be leased again for ever.
			const message = `this service has no SMTP transport '${settings.smtp?.transport}' (SMTP_TRANSPORT_<NAME>); set it and replay this class`;
			log.error(message);
			await whileAway(() =>
				this.commands.settle(
					settings.batchId,
					lease,
					undefined,
					start.items.map((item) => ({
						key: item.key,
						outcome: 'failed',
						transient: false,
						errorClass: 'smtp_no_transport',
						message,
					})),
				),
			);
		} else {
			await this.direct
				.deliver(
					{
						settings,
						chunkIndex,
						lease,
						items: start.items,
						deadline,
						signal: this.shutdown.signal,
					},
					{
						beforeSend: (keys) =>
							whileAway(() => this.commands.markSending(settings.batchId, lease, keys)),
						record: async (results) => {
							for (const result of results) {
								if (result.outcome === 'succeeded') succeeded++;
								else if (result.outcome === 'failed' && result.transient) transient++;
							}
							await whileAway(() =>
								this.commands.settle(settings.batchId, lease, undefined, results),
							);
						},
					},
				)
				.catch((error: unknown) =>
					log.error(
						{ err: (error as Error).message },
						'direct delivery failed; unsent items go back',
					),
				);
		}
		const closed = await whileAway(() =>
			this.commands.closeDispatch(settings.batchId, lease, { mode: 'direct' }, 0),
		);
		endChunk(transient > 0 && succeeded === 0 ? 'failed' : 'ok');
		try {
			const outcome = transient > 0 && succeeded === 0 ? 'failure' : 'success';
			await this.recordBreaker(settings, outcome, gate, log);
			await this.chunks.follow(settings.batchId, closed, settings.priority);
			await this.notices.follow(settings.batchId, closed.notices);
			if (closed.state === 'aborted') await this.chunks.removeQueued(settings.batchId);
		} catch (error) {
			log.warn({ err: (error as Error).message }, 'after a dispatch: follow-up failed');
		}
		return closed.chunkLeft;
	}

	private async recordBreaker(
		settings: BatchSettings,
		outcome: 'success' | 'failure' | 'release',
		gate: BreakerGate,
		log: Logger,
	): Promise<void> {
		const target = breakerTarget(settings) as string;
		const probe = gate.go && gate.probe;
		if (outcome === 'release' && !probe) return;
		// A success on a closed breaker with no failures counted changes nothing: skip the call.
		if (outcome === 'success' && gate.go && !probe && gate.failures === 0) return;
		const { openedAt, state } = await this.breaker.record(target, outcome);
		setCircuitState(targetDigest(target), state);
		if (openedAt) {
			log.warn({ target }, 'circuit opened: target failed repeatedly');
			await this.notices.follow(
				settings.batchId,
				await this.commands.addNotice(settings.batchId, 'circuit_open', openedAt),
			);
		}
	}

	/** A chunk that cannot dispatch now: finish, park or delay its job, per the reply. */
	private async idle(
		job: Job<ChunkJobData>,
		token: string | undefined,
		batchId: string,
		reply: { kind: string; now: number; wakeAt?: number; wake?: Array<string | number> },
	): Promise<void> {
		if (reply.wake && reply.wake.length > 0) await this.chunks.wake(batchId, reply.wake);
		switch (reply.kind) {
			case 'stop':
			case 'done':
				return;
			case 'paused':
				return this.park(job, token, batchId, PARK_MS);
			case 'busy':
				return this.park(
					job,
					token,
					batchId,
					Math.min(PARK_MS, (reply.wakeAt ?? reply.now) - reply.now + 50),
				);
			default:
				return this.delay(job, token, (reply.wakeAt ?? reply.now) - reply.now);
		}
	}

	private async releaseProbe(settings: BatchSettings, gate: BreakerGate): Promise<void> {
		if (gate.go && gate.probe)
			await this.breaker.record(breakerTarget(settings) as string, 'release');
	}

	/** Delays the job by `ms` (a difference of Redis instants, so no clock of ours is involved). */
	private async delay(
		job: Job<ChunkJobData>,
		token: string | undefined,
		ms: number,
	): Promise<never> {
		await job.moveToDelayed(Date.now() + Math.max(0, ms), token);
		throw new DelayedError();
	}

	/** Parks the job (delayed, safety wake-up later); wakes it at once if its reason went away. */
	private async park(
		job: Job<ChunkJobData>,
		token: string | undefined,
		batchId: string,
		ms: number,
	): Promise<never> {
		await job.moveToDelayed(Date.now() + Math.max(0, ms), token);
		if (await this.commands.park(batchId, job.data.chunkIndex)) {
			await job.promote().catch(() => undefined);
		}
		throw new DelayedError();
	}
}
