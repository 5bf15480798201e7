import type { ServiceContext } from '../../context';
import type { InDoubtPolicy } from '../../../../nodes/shared/contract';

/** What the dispatcher needs of a batch; all but concurrency are fixed at creation. */
export interface BatchSettings {
	batchId: string;
	targetUrl?: string;
	chunkSize: number;
	concurrency: number;
	maxAttempts: number;
	priority: number;
	timeoutMs: number;
	inDoubt: InDoubtPolicy;
	limiterKey?: string;
	milestoneUrl?: string;
	completionUrl?: string;
	/** webhook: POST chunks to targetUrl; smtp: the service sends each item as an e-mail. */
	delivery: 'webhook' | 'smtp';
	smtp?: { transport: string; from?: string; messageIdDomain?: string };
}

const STATUS: Record<string, string> = {
	p: 'pending',
	r: 'retrying',
	l: 'leased',
	s: 'succeeded',
	d: 'dead_lettered',
};

/** The packed item state of lua/includes/batch.lua, by name. Times are Redis TIME in ms. */
export interface ItemState {
	status: string;
	attempts: number;
	chunkIndex: number;
	firstAttemptAt: number;
	/** The lease of the latest attempt ('' none). */
	lease: string;
	leaseStartedAt: number;
	leaseExpiresAt: number;
	dueAt: number;
	/** The latest attempt reported. */
	reported: boolean;
}

/** What the circuit breaker guards: the worker webhook, or the SMTP transport of direct delivery. */
export const breakerTarget = (settings: BatchSettings): string | undefined =>
	settings.delivery === 'smtp' && settings.smtp
		? `smtp:${settings.smtp.transport}`
		: settings.targetUrl;

export interface ChunkRef {
	chunkIndex: number;
	generation: number;
}

/**
 * Plain reads of batch state (no change, so no script): settings, chunk generations, the
 * notice outbox. The packed chunk format is decoded here and in the Lua include only.
 */
export class BatchReads {
	constructor(private readonly ctx: ServiceContext) {}

	async settings(batchId: string): Promise<BatchSettings | null> {
		const names = [
			'chunkSize',
			'concurrency',
			'maxAttempts',
			'priority',
			'timeoutMs',
			'inDoubtPolicy',
			'targetUrl',
			'limiterKey',
			'milestoneUrl',
			'completionUrl',
			'delivery',
			'smtpTransport',
			'smtpFrom',
			'smtpDomain',
		] as const;
		const values = await this.ctx.redis.hmget(this.ctx.keys.batch(batchId), ...names);
		if (values[0] === null) return null;
		const v = Object.fromEntries(names.map((name, i) => [name, values[i] ?? undefined]));
		return {
			batchId,
			chunkSize: Number(v.chunkSize),
			concurrency: Number(v.concurrency),
			maxAttempts: Number(v.maxAttempts),
			priority: Number(v.priority),
			timeoutMs: Number(v.timeoutMs),
			inDoubt: v.inDoubtPolicy === 'hold' ? 'hold' : 'retry',
			targetUrl: v.targetUrl,
			limiterKey: v.limiterKey,
			milestoneUrl: v.milestoneUrl,
			completionUrl: v.completionUrl,
			delivery: v.delivery === 'smtp' ? 'smtp' : 'webhook',
			smtp: v.smtpTransport
				? { transport: v.smtpTransport, from: v.smtpFrom, messageIdDomain: v.smtpDomain }
				: undefined,
		};
	}

	/** The current generation of each chunk (a replay bumps it; each generation has its own job). */
	async generations(batchId: string, chunkIndexes: Array<string | number>): Promise<ChunkRef[]> {
		if (chunkIndexes.length === 0) return [];
		const packed = await this.ctx.redis.hmget(
			this.ctx.keys.batchPart(batchId, 'chunks'),
			...chunkIndexes.map(String),
		);
		const refs: ChunkRef[] = [];
		chunkIndexes.forEach((index, i) => {
			const value = packed[i];
			if (value) refs.push({ chunkIndex: Number(index), generation: Number(value.split('|')[3]) });
		});
		return refs;
	}

	async allChunks(batchId: string): Promise<ChunkRef[]> {
		const all = await this.ctx.redis.hgetall(this.ctx.keys.batchPart(batchId, 'chunks'));
		return Object.entries(all).map(([index, value]) => ({
			chunkIndex: Number(index),
			generation: Number(value.split('|')[3]),
		}));
	}

	/** Chunks cut whose BullMQ job is not known to exist yet, with the generation to add. */
	async unqueued(batchId: string): Promise<ChunkRef[]> {
		const all = await this.ctx.redis.hgetall(this.ctx.keys.batchPart(batchId, 'unqueued'));
		return Object.entries(all).map(([index, generation]) => ({
			chunkIndex: Number(index),
			generation: Number(generation),
		}));
	}

	/** One item's state, decoded (for diagnostics and tests); null when the batch has no such item. */
	async item(batchId: string, key: string): Promise<ItemState | null> {
		const packed = await this.ctx.redis.hget(this.ctx.keys.batchPart(batchId, 'item'), key);
		if (!packed) return null;
		const [status, attempts, chunk, first, lease, leaseAt, leaseExp, due, reported] =
			packed.split('|');
		return {
			status: STATUS[status] ?? status,
			attempts: Number(attempts),
			chunkIndex: Number(chunk),
			firstAttemptAt: Number(first),
			lease,
			leaseStartedAt: Number(leaseAt),
			leaseExpiresAt: Number(leaseExp),
			dueAt: Number(due),
			reported: reported === '1',
		};
	}

	/** The oldest notice not yet delivered, exactly as stored (noticeSent compares it). */
	async oldestNotice(batchId: string): Promise<string | null> {
		return this.ctx.redis.lindex(this.ctx.keys.batchPart(batchId, 'outbox'), 0);
	}
}
