/**
 * The batch feature, assembled explicitly: one set of parts per service process. HTTP-only
 * processes (tests) skip the dispatcher; the service starts everything.
 */
import type { ServiceContext } from '../context';
import { Limiter } from '../limits/limiter';
import { Breaker } from './dispatch/breaker';
import { ChunkQueue } from './dispatch/chunk-queue';
import { Dispatcher } from './dispatch/dispatcher';
import { Pacer } from './dispatch/pacer';
import { SmtpSender } from './dispatch/smtp';
import { BatchEngine } from './engine';
import { BatchEvents } from './events';
import { Notices } from './notices';
import { BatchCommands } from './state/commands';
import { BatchReads } from './state/reads';
import { Sweeper } from './sweeper';

export { batchesRouter } from './http/router';
export type { BatchEngine } from './engine';

export interface Batches {
	engine: BatchEngine;
	chunks: ChunkQueue;
	dispatcher: Dispatcher;
	notices: Notices;
	sweeper: Sweeper;
	/** Starts taking chunk jobs and notices, and the periodic sweep. */
	start(): void;
	/** No new chunks; in-flight ones get graceMs; then queues, events and connections close. */
	stop(graceMs: number): Promise<void>;
}

export function assembleBatches(ctx: ServiceContext): Batches {
	const commands = new BatchCommands(ctx);
	const reads = new BatchReads(ctx);
	const events = new BatchEvents(ctx);
	const breaker = new Breaker(ctx);
	const chunks = new ChunkQueue(ctx, commands, reads);
	const notices = new Notices(ctx, commands, reads, breaker);
	const limiter = new Limiter(ctx);
	const pacer = new Pacer(limiter, ctx.config.LIMITER_MAX_WAIT_MS, events);
	// Direct delivery only where transports are configured (SMTP_TRANSPORT_<NAME>).
	const smtp =
		ctx.config.SMTP_TRANSPORTS.length > 0 ? new SmtpSender(ctx, limiter, events) : undefined;
	const dispatcher = new Dispatcher(ctx, commands, reads, chunks, breaker, pacer, notices, smtp);
	const sweeper = new Sweeper(ctx, commands, chunks, notices);
	const engine = new BatchEngine(ctx, commands, chunks, notices, breaker, events);
	let started = false;
	return {
		engine,
		chunks,
		dispatcher,
		notices,
		sweeper,
		start() {
			started = true;
			dispatcher.start();
			notices.start();
			sweeper.start();
		},
		async stop(graceMs) {
			if (started) {
				await sweeper.stop();
				await dispatcher.stop(graceMs);
			}
			smtp?.close();
			await notices.stop();
			await events.close();
			await chunks.close();
		},
	};
}
