import { digest, MAX_ITEM_BYTES, TERMINAL_STATES } from '../../../nodes/shared/contract';
import type { ServiceContext } from '../context';
import { ApiError, notFound } from '../http/errors';
import { redisNow } from '../redis/connection';
import { findTransport } from '../smtp/transports';
import { whileRedisAway } from '../redis/retry';
import type { Breaker } from './dispatch/breaker';
import type { ChunkQueue } from './dispatch/chunk-queue';
import { newLeaseId } from './dispatch/dispatcher';
import { failureOfRecord } from './dispatch/outcomes';
import type { BatchEvents } from './events';
import type { BatchProgress, CreateBatchInput, ResultError } from './http/schemas';
import type { Notices } from './notices';
import { loadBatch, readDeadLetters, readExecutions, type LoadedBatch } from './progress';
import { buildBatchReport, executionLinks } from './report';
import type { BatchCommands, Execution, Followups, ItemResult } from './state/commands';

const TERMINAL: ReadonlySet<string> = new Set(TERMINAL_STATES);

export interface RecordInput {
	key: string;
	status: 'succeeded' | 'failed' | 'released';
	error?: ResultError;
	retryAfterMs?: number;
}

/**
 * What the HTTP handlers (and the live page) call. Every change is one script in
 * state/commands.ts; this class adds what surrounds it: the batch index, chunk jobs and notices
 * a change leaves to do, and the retry while Redis is away for requests that carry outcomes.
 */
export class BatchEngine {
	constructor(
		private readonly ctx: ServiceContext,
		private readonly commands: BatchCommands,
		private readonly chunks: ChunkQueue,
		private readonly notices: Notices,
		private readonly breaker: Breaker,
		readonly events: BatchEvents,
	) {}

	async create(input: CreateBatchInput): Promise<BatchProgress & { created: boolean }> {
		const batchId = input.batchKey;
		if (input.smtp) this.checkTransport(input.smtp.transport);
		// Listed before it exists: a crash in between leaves an entry List skips, never a batch
		// nobody can find.
		const now = await this.retrying(() => redisNow(this.ctx.redis));
		await this.retrying(() => this.ctx.redis.zadd(this.ctx.keys.batchIndex(), 'NX', now, batchId));
		await this.retrying(() =>
			this.ctx.redis.zadd(this.ctx.keys.activeBatches(), 'NX', now, batchId),
		);
		const reply = await this.retrying(() => this.commands.create(batchId, this.fields(input)));
		return { created: reply.created, ...(await this.progress(batchId)) };
	}

	async append(
		batchId: string,
		items: Array<{ key: string; json: unknown }>,
		final: boolean,
		pageId?: string,
	) {
		const encoded = items.map((item, index) => {
			const json = JSON.stringify(item.json);
			const bytes = Buffer.byteLength(json);
			if (bytes > MAX_ITEM_BYTES) {
				throw new ApiError(
					413,
					'item_too_large',
					`Item ${index} ('${item.key}') is ${bytes} bytes of JSON; at most ${MAX_ITEM_BYTES} per item. Send a reference (an id or URL) instead of large content.`,
				);
			}
			return { key: item.key, json };
		});
		const reply = await this.retrying(() => this.commands.append(batchId, pageId, encoded));
		await this.follow(batchId, reply);
		if (final) await this.follow(batchId, await this.retrying(() => this.commands.seal(batchId)));
		const progress = await this.progress(batchId);
		return {
			batchId,
			accepted: reply.accepted,
			duplicates: reply.duplicates,
			replayed: reply.replayed,
			state: progress.state,
			counts: progress.counts,
		};
	}

	async seal(batchId: string): Promise<BatchProgress> {
		await this.follow(batchId, await this.retrying(() => this.commands.seal(batchId)));
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
			const loaded = await Promise.all(ids.map((id) => loadBatch(this.ctx, this.breaker, id)));
			for (const batch of loaded) {
				offset++;
				if (batch && (!state || batch.progress.state === state)) batches.push(batch.progress);
				if (batches.length >= limit) break;
			}
		}
		const more = (await this.ctx.redis.zcard(this.ctx.keys.batchIndex())) > offset;
		return { batches, nextCursor: more ? String(offset) : null };
	}

	/** Long-poll: answers when the batch is finished, or when timeoutMs is up. */
	async wait(batchId: string, timeoutMs: number, gone: AbortSignal) {
		const deadline = performance.now() + timeoutMs;
		for (;;) {
			const listening = await this.events.next(batchId);
			let progress: BatchProgress;
			try {
				progress = await this.progress(batchId);
			} catch (error) {
				listening.cancel();
				throw error;
			}
			const done = TERMINAL.has(progress.state);
			const left = deadline - performance.now();
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
		const reply = await this.retrying(() => this.commands.control(batchId, op, value));
		await this.follow(batchId, reply);
		if (op === 'cancel') await this.chunks.removeQueued(batchId);
		return this.progress(batchId);
	}

	async deadLetters(batchId: string, limit: number, errorClass?: string) {
		await this.load(batchId);
		return readDeadLetters(this.ctx, batchId, limit, errorClass);
	}

	async replay(batchId: string, errorClass?: string) {
		const reply = await this.retrying(() => this.commands.replay(batchId, errorClass));
		if (reply.replayed > 0) {
			await this.ctx.redis.zadd(this.ctx.keys.activeBatches(), reply.now, batchId);
		}
		await this.follow(batchId, reply);
		return {
			replayed: reply.replayed,
			errorClass: errorClass ?? null,
			...(await this.progress(batchId)),
		};
	}

	async report(batchId: string) {
		return buildBatchReport(this.ctx, await this.load(batchId));
	}

	/** Chunks of a batch with their range, items left and latest executions (n8n links). */
	async chunkList(batchId: string, limit: number, cursor: number) {
		const batch = await this.load(batchId);
		// Only chunks already cut exist; the rest are cut a window ahead of dispatch.
		const total = batch.progress.chunks.cut;
		const indexes = Array.from(
			{ length: Math.max(0, Math.min(limit, total - cursor)) },
			(_, i) => cursor + i,
		);
		const packed =
			indexes.length > 0
				? await this.ctx.redis.hmget(
						this.ctx.keys.batchPart(batchId, 'chunks'),
						...indexes.map(String),
					)
				: [];
		const executions = await readExecutions(this.ctx, batchId, indexes);
		const chunks = indexes.map((chunkIndex, i) => {
			const [start, stop, left, generation, started] = (packed[i] ?? '0|0|0|0|0')
				.split('|')
				.map(Number);
			return {
				chunkIndex,
				items: stop - start,
				left,
				generation,
				started: started === 1,
				executions: executionLinks(executions[String(chunkIndex)], this.ctx.config.N8N_EDITOR_URL),
			};
		});
		const next = cursor + indexes.length;
		return { chunks, nextCursor: next < total ? String(next) : null };
	}

	async claim(
		batchId: string,
		keys: string[],
		options: {
			lease?: string;
			leaseMs: number;
			claimId?: string;
			execution?: Execution;
			maxItems?: number;
		},
	) {
		const newLease = options.claimId
			? `c.${digest(`${batchId}:${options.claimId}`)}`
			: newLeaseId();
		const reply = await this.retrying(() =>
			this.commands.claim(
				batchId,
				options.lease,
				newLease,
				options.leaseMs,
				options.execution,
				keys,
				options.maxItems,
			),
		);
		await this.follow(batchId, reply);
		return {
			claimed: reply.claimed,
			skipped: reply.skipped.map((skip) =>
				skip.dueAt ? { ...skip, dueAt: new Date(skip.dueAt).toISOString() } : skip,
			),
			lease: options.lease ?? newLease,
			leaseExpiresAt: new Date(reply.leaseExp).toISOString(),
			state: reply.state,
		};
	}

	async record(
		batchId: string,
		lease: string | undefined,
		results: RecordInput[],
		execution?: Execution,
	) {
		const outcomes: ItemResult[] = results.map((result) => {
			if (result.status === 'succeeded') return { key: result.key, outcome: 'succeeded' };
			if (result.status === 'released') {
				return {
					key: result.key,
					outcome: 'released',
					retryAfterMs: result.retryAfterMs ?? result.error?.retryAfterMs ?? 0,
				};
			}
			const failure = failureOfRecord(result.error);
			return { key: result.key, outcome: 'failed', ...failure };
		});
		const reply = await this.retrying(() =>
			this.commands.settle(batchId, lease, execution, outcomes),
		);
		await this.follow(batchId, reply);
		if (reply.state === 'aborted') await this.chunks.removeQueued(batchId);
		const progress = await this.progress(batchId);
		return {
			batchId,
			chunkIndexes: reply.chunks,
			succeeded: reply.succeeded,
			retryScheduled: reply.retryScheduled,
			deadLettered: reply.deadLettered,
			released: reply.released,
			ignored: reply.ignored,
			progress: {
				state: progress.state,
				percent: progress.percent,
				counts: progress.counts,
				itemsPerSecond: progress.itemsPerSecond,
				etaSeconds: progress.etaSeconds,
			},
		};
	}

	/**
	 * Split Into Chunks -> Loop: the next chunk to work (the first with unfinished items, so a
	 * re-run resumes there), `wait` with when to ask again, or `done` with the progress. `previous`
	 * says whether the chunk the loop body was given got its results recorded.
	 */
	async nextChunk(
		batchId: string,
		options: { leaseMs: number; execution?: Execution; previousChunk?: number },
	) {
		const reply = await this.retrying(() =>
			this.commands.nextChunk(batchId, options.leaseMs, options.execution, options.previousChunk),
		);
		await this.follow(batchId, reply);
		const progress = await this.progress(batchId);
		const base = { kind: reply.kind, previous: reply.previous, progress };
		if (reply.kind === 'chunk') {
			return {
				...base,
				chunkIndex: reply.chunkIndex,
				lease: reply.lease,
				leaseExpiresAt: new Date(reply.leaseExp ?? reply.now).toISOString(),
				items: reply.items,
			};
		}
		if (reply.kind === 'wait') {
			return { ...base, retryAfterMs: Math.max(0, (reply.wakeAt ?? reply.now) - reply.now) };
		}
		return base;
	}

	/** Deletes a finished batch now (retention would have done it later). */
	async delete(batchId: string): Promise<{ batchId: string; deleted: true }> {
		await this.retrying(() => this.commands.delete(batchId));
		await this.ctx.redis.zrem(this.ctx.keys.batchIndex(), batchId);
		await this.ctx.redis.zrem(this.ctx.keys.activeBatches(), batchId);
		await this.chunks.removeQueued(batchId).catch(() => undefined);
		return { batchId, deleted: true };
	}

	/**
	 * Chunk jobs and notices a change left to do. The change itself is recorded, so a failure here
	 * must not fail the request: the sweep redoes both within SWEEP_INTERVAL_MS.
	 */
	private async follow(batchId: string, followups: Followups): Promise<void> {
		try {
			await this.chunks.follow(batchId, followups);
			await this.notices.follow(batchId, followups.notices);
		} catch (error) {
			this.ctx.logger.warn(
				{ batchId, err: (error as Error).message },
				'follow-up of a change failed; the sweep redoes it',
			);
		}
	}

	/**
	 * Changes are retried while Redis is away (a restart, a failover), up to REDIS_RETRY_MS: each
	 * is idempotent (create by key, pages by id, results by lease, claims by claim id), so a retry
	 * after a lost reply does not count twice.
	 */
	private retrying<T>(operation: () => Promise<T>): Promise<T> {
		return whileRedisAway(operation, performance.now() + this.ctx.config.REDIS_RETRY_MS, {
			onRetry: (error, attempt) =>
				this.ctx.logger.warn({ attempt, err: (error as Error).message }, 'Redis away: retrying'),
		});
	}

	/** A direct batch must name a transport this service has: nothing could ever send it otherwise. */
	private checkTransport(name: string): void {
		if (findTransport(this.ctx.config.SMTP_TRANSPORTS, name)) return;
		const known = this.ctx.config.SMTP_TRANSPORTS.map((t) => t.name);
		const message = known.length
			? `smtp.transport '${name}' is not a transport of this service; it has: ${known.join(', ')} (GET /v1/transports)`
			: `smtp.transport '${name}': this service has no SMTP transports; set SMTP_TRANSPORT_<NAME>=smtp://host:port on it, or use delivery "webhook"`;
		throw new ApiError(400, 'invalid_request', `Invalid body: ${message}`, [
			{ path: 'smtp.transport', message },
		]);
	}

	private fields(input: CreateBatchInput): Record<string, string | number> {
		const retentionMs = Math.round(this.ctx.config.BATCH_RETENTION_HOURS * 3_600_000);
		const fields: Record<string, string | number> = {
			batchKey: input.batchKey,
			chunkSize: input.chunkSize,
			chunkSizeNow: input.chunkSize,
			chunkBytes: this.ctx.config.MAX_CHUNK_BYTES,
			concurrency: input.concurrency,
			maxAttempts: input.maxAttempts,
			backoffInitialMs: input.backoff.initialMs,
			backoffMaxMs: input.backoff.maxMs,
			priority: input.priority,
			timeoutMs: input.timeoutMs,
			inDoubtPolicy: input.inDoubt,
			retentionMs,
			meta: JSON.stringify(input.meta),
		};
		if (input.targetUrl) fields.targetUrl = input.targetUrl;
		fields.delivery = input.delivery;
		if (input.smtp) {
			fields.smtpTransport = input.smtp.transport;
			if (input.smtp.from) fields.smtpFrom = input.smtp.from;
			if (input.smtp.messageIdDomain) fields.smtpDomain = input.smtp.messageIdDomain;
		}
		if (input.limiterKey) fields.limiterKey = input.limiterKey;
		if (input.milestoneUrl) fields.milestoneUrl = input.milestoneUrl;
		if (input.completionUrl) fields.completionUrl = input.completionUrl;
		if (input.failureThreshold) {
			fields.failureRatio = input.failureThreshold.ratio;
			fields.failureMinSample = input.failureThreshold.minSample;
		}
		if (input.adaptiveChunkSize) {
			const { targetSeconds, min, max } = input.adaptiveChunkSize;
			fields.adaptive = 1;
			fields.adaptiveTargetMs = Math.round(targetSeconds * 1000);
			fields.adaptiveMin = min;
			fields.adaptiveMax = max;
			fields.chunkSizeNow = Math.max(min, Math.min(max, input.chunkSize));
		}
		return fields;
	}

	private async load(batchId: string): Promise<LoadedBatch> {
		const loaded = await loadBatch(this.ctx, this.breaker, batchId);
		if (!loaded) throw notFound(`No batch '${batchId}'; Submit Batch returns the batchId to use`);
		return loaded;
	}
}
