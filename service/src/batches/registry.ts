import type { ServiceContext } from '../context';
import { BatchEngine } from './engine';

const engines = new WeakMap<ServiceContext, BatchEngine>();

/** The engine of a service context, made on first use (HTTP handlers and the dispatcher share it). */
export function batchEngine(ctx: ServiceContext): BatchEngine {
	let engine = engines.get(ctx);
	if (!engine) engines.set(ctx, (engine = new BatchEngine(ctx)));
	return engine;
}

/** Starts taking chunk jobs in this process (the service does; HTTP-only tests need not). */
export function startBatchDispatcher(ctx: ServiceContext): void {
	batchEngine(ctx).startDispatcher();
}

/** Graceful stop: no new chunks, in-flight ones get graceMs to finish, then connections close. */
export async function stopBatches(ctx: ServiceContext, graceMs: number): Promise<void> {
	const engine = engines.get(ctx);
	if (!engine) return;
	engines.delete(ctx);
	await engine.stop(graceMs);
}
