import type { ServiceContext } from '../../../context';
import { ApiError } from '../../../http/errors';
import type { Logger } from '../../../logger';
import type { Limiter } from '../../../limits/limiter';
import { counter } from '../../../metrics';
import { Suppressions, type Suppression } from '../../../smtp';
import type { BatchEvents } from '../../events';
import type { ItemResult } from '../../state/commands';
import type { DirectDispatch, DirectHooks, DirectSender } from '../direct';
import type { SendOutcome } from './classify';
import { Coalescer } from './coalesce';
import { stopSignal } from './stop';
import { readMessage, type DirectMessage } from './message';
import { TransportPool, type PooledTransport } from './pool';

const messages = counter(
	'bg_smtp_messages_total',
	'Messages of direct batches, by transport and how they ended',
	['transport', 'outcome'],
);

interface Outgoing {
	key: string;
	message: DirectMessage;
}

/** What one dispatch shares while its messages go out. */
interface Run {
	dispatch: DirectDispatch;
	transport: PooledTransport;
	/** Longest one transaction may take: none starts later than this before the lease ends. */
	budgetMs: number;
	marks: Coalescer<string, Set<string>>;
	records: Coalescer<ItemResult, void>;
	/** Set once the limiter refused: the rest of the dispatch goes back without asking again. */
	refusedFor?: number;
	/** Shutdown, or the batch paused or cancelled: no new message starts. */
	stop: AbortSignal;
	log: Logger;
}

/**
 * Direct delivery over SMTP: each item of a dispatch is an e-mail sent through the batch's
 * transport, paced message by message by the batch's limiter key. A message is marked right
 * before its transaction (a connection slot is already held, so it goes on the wire at once) and
 * its outcome recorded as soon as the relay answers, so a crash leaves in doubt only messages
 * on the wire. Invalid items and suppressed recipients are failed before anything is sent.
 */
export class SmtpSender implements DirectSender {
	private readonly pool: TransportPool;
	private readonly suppressions: Suppressions;
	private readonly unpaced = new Set<string>();

	constructor(
		private readonly ctx: ServiceContext,
		private readonly limiter: Limiter,
		private readonly events: BatchEvents,
	) {
		this.pool = new TransportPool(ctx.config.SMTP_TRANSPORTS, ctx.logger);
		this.suppressions = new Suppressions(ctx);
	}

	async deliver(dispatch: DirectDispatch, hooks: DirectHooks): Promise<void> {
		const { settings, items } = dispatch;
		const name = settings.smtp?.transport ?? '';
		const transport = this.pool.get(name);
		if (!transport) {
			// Not labelled with the name asked for: any batch may name any transport.
			messages.inc({ transport: '(none)', outcome: 'no_transport' }, items.length);
			const names = this.ctx.config.SMTP_TRANSPORTS.map((t) => t.name).join(', ') || 'none';
			return hooks.record(
				items.map((item) =>
					permanent(
						item.key,
						'smtp_no_transport',
						`this service has no SMTP transport '${name}' (it has: ${names}); set SMTP_TRANSPORT_${name.toUpperCase()}=smtp://... and replay the class`,
					),
				),
			);
		}
		const { outgoing, refused } = await this.prepare(dispatch, transport.transport.name);
		if (refused.length > 0) await hooks.record(refused);
		const stop = stopSignal(this.ctx, this.events, settings.batchId, dispatch.signal);
		const run: Run = {
			dispatch,
			stop: stop.signal,
			transport,
			budgetMs: Math.min(transport.transport.timeoutMs, settings.timeoutMs),
			marks: new Coalescer(async (keys) => new Set(await hooks.beforeSend(keys))),
			records: new Coalescer((results) => hooks.record(results)),
			log: this.ctx.logger.child({
				batchId: settings.batchId,
				chunkIndex: dispatch.chunkIndex,
				lease: dispatch.lease,
			}),
		};
		try {
			await Promise.all(outgoing.map((entry) => this.sendOne(run, entry)));
		} finally {
			stop.end();
		}
	}

	/** Closes the pooled connections (the service is stopping; no dispatch is running). */
	close(): void {
		this.pool.close();
	}

	/** Reads each item as a message; invalid ones and suppressed recipients fail at once. */
	private async prepare(
		dispatch: DirectDispatch,
		transport: string,
	): Promise<{ outgoing: Outgoing[]; refused: ItemResult[] }> {
		const refused: ItemResult[] = [];
		const readable: Outgoing[] = [];
		for (const item of dispatch.items) {
			const message = readMessage(dispatch.settings, item.key, item.json);
			if ('invalid' in message) {
				refused.push(permanent(item.key, 'invalid_item', message.invalid));
			} else {
				readable.push({ key: item.key, message });
			}
		}
		const listed = await this.suppressions.find(readable.map((o) => o.message.recipient));
		const outgoing = readable.filter((o) => {
			const entry = listed.get(o.message.recipient);
			if (entry) refused.push(permanent(o.key, 'suppressed', suppressedBecause(entry)));
			return !entry;
		});
		messages.inc({ transport, outcome: 'invalid' }, dispatch.items.length - readable.length);
		messages.inc({ transport, outcome: 'suppressed' }, readable.length - outgoing.length);
		return { outgoing, refused };
	}

	/**
	 * One message: a connection slot, the limiter's token, the mark, the transaction, the outcome.
	 * Whatever stops it before the mark (shutdown, the lease running out, Redis away) leaves the
	 * item unmarked, and the dispatcher gives it back with its attempt unspent.
	 */
	private async sendOne(run: Run, { key, message }: Outgoing): Promise<void> {
		const { dispatch, transport } = run;
		if (!(await transport.slots.take(run.stop))) return;
		// The slot is held until the outcome is stored: a crash leaves at most one message per
		// connection unrecorded, so in doubt.
		try {
			if (performance.now() + run.budgetMs > dispatch.deadline) return;
			const retryAfterMs = await this.pace(run);
			if (retryAfterMs === 'stopped') return;
			if (retryAfterMs !== undefined) {
				await run.records.submit([{ key, outcome: 'released', retryAfterMs }]);
				return;
			}
			if (run.stop.aborted || !(await run.marks.submit([key])).has(key)) return;
			const outcome = await transport.send(message, run.budgetMs);
			await this.settle(run, key, message, outcome);
		} catch (error) {
			run.log.warn({ key, err: (error as Error).message }, 'direct delivery: message not sent');
		} finally {
			transport.slots.give();
		}
	}

	/** Records what the relay answered (a lost transaction is left for the in-doubt policy). */
	private async settle(
		run: Run,
		key: string,
		message: DirectMessage,
		outcome: SendOutcome,
	): Promise<void> {
		const transport = run.transport.transport.name;
		if (outcome.kind === 'in_doubt') {
			// Left unrecorded: when its lease ends, the batch's in-doubt policy decides.
			messages.inc({ transport, outcome: 'in_doubt' });
			run.log.warn({ key, messageId: message.messageId }, outcome.message);
			return;
		}
		if (outcome.kind === 'sent') {
			messages.inc({ transport, outcome: 'sent' });
			return this.record(run, { key, outcome: 'succeeded' });
		}
		messages.inc({
			transport,
			outcome: outcome.transient ? 'failed_transient' : 'failed_permanent',
		});
		if (outcome.suppress) await this.suppress(run, key, message, outcome);
		return this.record(run, {
			key,
			outcome: 'failed',
			transient: outcome.transient,
			errorClass: outcome.errorClass,
			message: outcome.message,
		});
	}

	private async record(run: Run, result: ItemResult): Promise<void> {
		try {
			await run.records.submit([result]);
		} catch (error) {
			// Sent, but its outcome is not stored: in doubt when its lease ends.
			run.log.error(
				{ key: result.key, err: (error as Error).message },
				'direct delivery: outcome not recorded',
			);
		}
	}

	private async suppress(
		run: Run,
		key: string,
		message: DirectMessage,
		outcome: { message: string; code?: number; enhancedCode?: string },
	): Promise<void> {
		try {
			await this.suppressions.add(message.recipient, {
				reason: outcome.message,
				source: 'smtp',
				code: outcome.code,
				enhancedCode: outcome.enhancedCode,
				batchId: run.dispatch.settings.batchId,
				itemKey: key,
				transport: run.transport.transport.name,
			});
		} catch (error) {
			run.log.warn({ key, err: (error as Error).message }, 'could not add to the suppression list');
		}
	}

	/**
	 * One token of the batch's limiter, waiting at most until the last moment a transaction may
	 * start. Answers undefined when granted (or there is nothing to keep), the wait to give the item
	 * back for when refused, 'stopped' on shutdown.
	 */
	private async pace(run: Run): Promise<number | undefined | 'stopped'> {
		const { settings, deadline } = run.dispatch;
		const signal = run.stop;
		const limiterKey = settings.limiterKey;
		if (!limiterKey) return undefined;
		if (run.refusedFor !== undefined) return run.refusedFor;
		const maxWaitMs = Math.min(
			this.ctx.config.LIMITER_MAX_WAIT_MS,
			Math.max(0, deadline - run.budgetMs - performance.now()),
		);
		try {
			const answer = await this.limiter.acquire(limiterKey, 1, maxWaitMs, { signal });
			if (answer.granted) return undefined;
			if (signal.aborted) return 'stopped';
			run.refusedFor = answer.retryAfterMs;
			return answer.retryAfterMs;
		} catch (error) {
			if (!(error instanceof ApiError) || error.code !== 'limiter_not_configured') throw error;
			if (!this.unpaced.has(settings.batchId)) {
				if (this.unpaced.size > 10_000) this.unpaced.clear();
				this.unpaced.add(settings.batchId);
				run.log.warn({ limiterKey }, 'limiter key has no settings; messages sent unpaced');
			}
			return undefined;
		}
	}
}

function permanent(key: string, errorClass: string, message: string): ItemResult {
	return { key, outcome: 'failed', transient: false, errorClass, message };
}

/** The report's words for a skipped recipient: since when, and why. */
function suppressedBecause(entry: Suppression): string {
	const since = entry.suppressedAt ? ` since ${entry.suppressedAt}` : '';
	const origin =
		entry.source === 'smtp'
			? `the relay answered ${entry.reason}${entry.batchId ? ` (batch ${entry.batchId})` : ''}`
			: `listed by hand: ${entry.reason}`;
	return `${entry.address} is on the suppression list${since}: ${origin}. DELETE /v1/suppressions/${entry.address} to send to it again, then replay the class`;
}
