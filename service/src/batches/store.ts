import type { ServiceContext } from '../context';

const COUNT_FIELDS = ['total', 'succeeded', 'skipped', 'deadLettered'] as const;

export interface BatchProgress {
	batchId: string;
	state: string;
	counts: Record<(typeof COUNT_FIELDS)[number], number>;
	percent: number;
	createdAt: string | null;
	updatedAt: string | null;
}

/** Reads a batch's progress counters; null when no such batch exists. */
export async function readBatchProgress(
	ctx: ServiceContext,
	batchId: string,
): Promise<BatchProgress | null> {
	const hash = await ctx.redis.hgetall(ctx.keys.batch(batchId));
	if (!hash.state) return null;
	const counts = Object.fromEntries(
		COUNT_FIELDS.map((field) => [field, Number(hash[field] ?? 0)]),
	) as BatchProgress['counts'];
	const finished = counts.succeeded + counts.skipped + counts.deadLettered;
	return {
		batchId,
		state: hash.state,
		counts,
		percent: counts.total > 0 ? Math.round((finished / counts.total) * 10_000) / 100 : 0,
		createdAt: hash.createdAt ?? null,
		updatedAt: hash.updatedAt ?? null,
	};
}
