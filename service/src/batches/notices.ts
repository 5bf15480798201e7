import { Queue, Worker, type Job } from 'bullmq';

import { SECRET_HEADER } from '../../../nodes/shared/contract';
import type { ServiceContext } from '../context';
import { createBlockingRedis, type RedisClient } from '../redis/connection';
import type { Breaker } from './dispatch/breaker';
import { loadBatch } from './progress';
import { buildBatchReport } from './report';
import type { BatchCommands } from './state/commands';
import type { BatchReads } from './state/reads';

export const NOTICE_QUEUE = 'batch-notices';
const NOTICE_TIMEOUT_MS = 10_000;
/** Answers that refuse a notice for good (not 401/403: a fixed secret helps; not 408/425/429). */
const REFUSED = new Set([400, 405, 409, 413, 415, 422]);
/** Backoff between delivery attempts of a notice: doubling from 1 s up to a minute, jittered. */
const backoffMs = (attemptsMade: number): number =>
	Math.round(
		Math.min(60_000, 1000 * 2 ** Math.max(0, attemptsMade - 1)) * (0.5 + Math.random() / 2),
	);

interface StoredNotice {
	id: string;
	type: string;
	to: 'milestone' | 'completion';
	at: number;
	milestone?: number;
	state?: string;
	openedAt?: number;
}

/**
 * Delivers a batch's notices (milestones 25/50/75/100, abort, cancel, circuit open to the
 * milestone URL; the final report to the completion URL) from its outbox in Redis: in order, each
 * once, retried with backoff until the receiver answers 2xx, each with a stable `eventId` for
 * receivers that de-duplicate. One BullMQ job per batch drains its outbox, so one sender at a time.
 */
export class Notices {
	readonly queue: Queue<{ batchId: string }>;
	private readonly connection: RedisClient;
	private worker?: Worker<{ batchId: string }>;
	private workerConnection?: RedisClient;

	constructor(
		private readonly ctx: ServiceContext,
		private readonly commands: BatchCommands,
		private readonly reads: BatchReads,
		private readonly breaker: Breaker,
	) {
		this.connection = createBlockingRedis(ctx.redisTarget);
		this.connection.on('error', () => undefined);
		this.queue = new Queue(NOTICE_QUEUE, {
			connection: this.connection,
			prefix: ctx.keys.bullPrefix,
			streams: { events: { maxLen: 100 } },
		});
		this.queue.on('error', (error) =>
			ctx.logger.warn({ err: error.message }, 'notice queue error'),
		);
	}

	/** Makes sure a sender runs when a change queued notices (`count` > 0). */
	async follow(batchId: string, count: number | undefined): Promise<void> {
		if (!count) return;
		await this.queue.add(
			'notices',
			{ batchId },
			{
				jobId: `notices~${batchId.replaceAll(':', '~')}`,
				attempts: 1_000_000,
				backoff: { type: 'notice' },
				removeOnComplete: true,
				removeOnFail: true,
			},
		);
	}

	start(): void {
		if (this.worker) return;
		this.workerConnection = createBlockingRedis(this.ctx.redisTarget);
		this.workerConnection.on('error', () => undefined);
		this.worker = new Worker(NOTICE_QUEUE, (job) => this.drain(job), {
			connection: this.workerConnection,
			prefix: this.ctx.keys.bullPrefix,
			concurrency: 8,
			settings: { backoffStrategy: (attemptsMade: number) => backoffMs(attemptsMade) },
		});
		this.worker.on('error', (error) =>
			this.ctx.logger.warn({ err: error.message }, 'notice worker'),
		);
	}

	async stop(): Promise<void> {
		await this.worker?.close();
		this.worker = undefined;
		await this.workerConnection?.quit().catch(() => this.workerConnection?.disconnect());
		await this.queue.close();
		await this.connection.quit().catch(() => this.connection.disconnect());
	}

	private async drain(job: Job<{ batchId: string }>): Promise<void> {
		const { batchId } = job.data;
		for (let sent = 0; sent < 100; sent++) {
			const raw = await this.reads.oldestNotice(batchId);
			if (!raw) return;
			const notice = JSON.parse(raw) as StoredNotice;
			const settings = await this.reads.settings(batchId);
			const url = notice.to === 'completion' ? settings?.completionUrl : settings?.milestoneUrl;
			if (url) await this.post(url, batchId, notice);
			await this.commands.noticeSent(batchId, raw);
		}
		// More than 100 queued: go on in a new turn rather than hold the worker.
		await this.follow(batchId, 1);
	}

	private async post(url: string, batchId: string, notice: StoredNotice): Promise<void> {
		const loaded = await loadBatch(this.ctx, this.breaker, batchId);
		const body: Record<string, unknown> = {
			eventId: notice.id,
			batchId,
			type: notice.type,
			at: new Date(notice.at).toISOString(),
		};
		if (notice.milestone !== undefined) body.milestone = notice.milestone;
		if (notice.openedAt !== undefined) body.openedAt = new Date(notice.openedAt).toISOString();
		if (notice.state !== undefined) body.state = notice.state;
		if (notice.to === 'completion') {
			body.report = loaded ? await buildBatchReport(this.ctx, loaded) : null;
		} else {
			body.progress = loaded?.progress ?? null;
		}
		const headers: Record<string, string> = {
			'content-type': 'application/json',
			'x-batch-guardian-event-id': notice.id,
		};
		if (this.ctx.config.DISPATCH_SECRET) headers[SECRET_HEADER] = this.ctx.config.DISPATCH_SECRET;
		const response = await fetch(url, {
			method: 'POST',
			headers,
			body: JSON.stringify(body),
			signal: AbortSignal.timeout(NOTICE_TIMEOUT_MS),
		});
		await response.body?.cancel();
		if (REFUSED.has(response.status) || response.status === 404 || response.status === 410) {
			// A receiver that says it does not want it (e.g. an n8n Wait already resumed by an earlier
			// completion) will not change its mind: dropped, not retried for ever.
			this.ctx.logger.warn(
				{ batchId, eventId: notice.id, status: response.status },
				`${notice.to} receiver refused the notice; dropped`,
			);
			return;
		}
		if (!response.ok) {
			throw new Error(`${notice.to} receiver answered HTTP ${response.status} to ${notice.id}`);
		}
		this.ctx.logger.info({ batchId, eventId: notice.id }, `${notice.type} notice delivered`);
	}
}
