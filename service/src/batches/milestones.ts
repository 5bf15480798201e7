import type { ServiceContext } from '../context';
import type { BatchProgress } from './schemas';

/**
 * POSTs `{ batchId, milestone, progress }` to the batch's milestoneUrl at 25/50/75/100 %.
 * Best effort, one try: a notice must never hold up or fail the batch.
 */
export function notifyMilestone(
	ctx: ServiceContext,
	milestoneUrl: string,
	milestone: number,
	progress: BatchProgress,
): void {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (ctx.config.DISPATCH_SECRET) headers['x-batch-guardian-secret'] = ctx.config.DISPATCH_SECRET;
	fetch(milestoneUrl, {
		method: 'POST',
		headers,
		body: JSON.stringify({ batchId: progress.batchId, milestone, progress }),
		signal: AbortSignal.timeout(10_000),
	})
		.then((response) => response.body?.cancel())
		.catch((error: unknown) =>
			ctx.logger.warn(
				{ batchId: progress.batchId, milestone, err: (error as Error).message },
				'milestone notification failed',
			),
		);
}
