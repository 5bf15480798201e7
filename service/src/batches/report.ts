import type { ServiceContext } from '../context';
import { readDeadLetters, readExecutions, type LoadedBatch } from './progress';
import type { DeadLetter } from './http/schemas';

/** What to do about each kind of failure, for the report's remediation list. */
const ADVICE: Array<[RegExp, string]> = [
	[
		/^http_429$/,
		'The target throttled (429): set a limiterKey with a lower rate, or lower concurrency.',
	],
	[
		/^timeout$/,
		'Chunks timed out: raise timeoutMs or lower chunkSize so a chunk finishes in time.',
	],
	[/^connection_error$/, 'The worker webhook was unreachable: check targetUrl and that n8n is up.'],
	[
		/^http_5\d\d$/,
		'The worker failed (5xx): look at the failed executions in n8n, then replay dead letters.',
	],
	[
		/^http_4\d\d$/,
		'The worker refused items (4xx): fix the data or the workflow, then replay that error class.',
	],
	[
		/^lease_expired$/,
		'Attempts never reported: make the worker answer or call Record Results before timeoutMs.',
	],
	[
		/^smtp_4\d\d$/,
		'The relay deferred messages (SMTP 4xx) until attempts ran out: lower the limiter rate, raise maxAttempts, then replay that class.',
	],
	[
		/^smtp_5\d\d$/,
		'The relay refused messages for good (SMTP 5xx): check the addresses and the sender domain; replay only after fixing them.',
	],
	[
		/^suppressed$/,
		'Addresses on the suppression list (an earlier 5.1.1-type bounce) were not sent: GET /v1/suppressions, remove the ones fixed, then replay.',
	],
	[
		/^smtp_(connection|auth)$/,
		'The relay could not be reached or refused the login: check SMTP_TRANSPORT_<NAME> (host, port, user, password, TLS).',
	],
	[
		/^smtp_no_transport$/,
		'The batch names an SMTP transport the service no longer has: set SMTP_TRANSPORT_<NAME> again, then replay.',
	],
	[
		/^invalid_item$/,
		'Items lacked a valid to, subject or body: fix the composing step in n8n, then submit them again.',
	],
	[
		/^in_doubt$/,
		'Items in doubt: their attempt never reported, so they may or may not have taken effect. Check the target (e.g. the mail log), then replay the in_doubt class for those that did not arrive.',
	],
];

type Executions = Awaited<ReturnType<typeof readExecutions>>;

/** The report of a batch as the API and the completion notice give it. */
export async function buildBatchReport(ctx: ServiceContext, batch: LoadedBatch) {
	const batchId = batch.progress.batchId;
	const { deadLetters } = await readDeadLetters(ctx, batchId, 1000);
	const classes = await ctx.redis.hgetall(ctx.keys.batchPart(batchId, 'dead-classes'));
	const chunkIndexes = [...new Set(deadLetters.map((dead) => dead.chunkIndex))].filter(
		(i) => i >= 0,
	);
	const executions = await readExecutions(ctx, batchId, chunkIndexes);
	return buildReport(batch, deadLetters, classes, executions, ctx.config.N8N_EDITOR_URL);
}

/** The final report in the BatchJobResult shape (snake_case), plus abort reason and advice. */
export function buildReport(
	batch: LoadedBatch,
	deadLetters: DeadLetter[],
	deadClasses: Record<string, string>,
	executions: Executions = {},
	editorUrl?: string,
) {
	const { progress, hash } = batch;
	const { counts } = progress;
	const processed = counts.succeeded + counts.deadLettered;
	const started = progress.startedAt ?? progress.createdAt;
	const end = progress.finishedAt ? Date.parse(progress.finishedAt) : batch.now;
	const durationSeconds = Math.max(0, (end - Date.parse(started)) / 1000);
	const errorCategories = Object.fromEntries(
		Object.entries(deadClasses).map(([errorClass, count]) => [errorClass, Number(count)]),
	);
	const status =
		{ aborted: 'failed', open: 'running', paused: 'running' }[progress.state as string] ??
		progress.state;
	return {
		job_id: progress.batchId,
		job_type:
			hash.delivery === 'smtp'
				? 'batch_direct_smtp'
				: hash.targetUrl
					? 'batch_dispatch'
					: 'batch_checkpoint',
		started_at: started,
		completed_at: progress.finishedAt,
		status,
		summary: {
			total_items: counts.total,
			processed,
			succeeded: counts.succeeded,
			failed: counts.deadLettered - counts.inDoubt,
			in_doubt: counts.inDoubt,
			skipped: counts.skipped,
			duration_seconds: Math.round(durationSeconds * 1000) / 1000,
			items_per_second:
				durationSeconds > 0 ? Math.round((processed / durationSeconds) * 100) / 100 : 0,
		},
		errors: deadLetters.map((dead) => ({
			item_identifier: dead.key,
			error_type: dead.class,
			error_message: dead.message,
			timestamp: dead.lastAt,
			chunk_index: dead.chunkIndex,
			retry_attempts: dead.attempts,
			...(dead.httpCode ? { http_code: dead.httpCode } : {}),
			...(dead.inDoubt ? { in_doubt: dead.inDoubt } : {}),
			executions: executionLinks(executions[String(dead.chunkIndex)], editorUrl),
		})),
		error_categories: errorCategories,
		error_samples: Object.fromEntries(
			Object.entries(progress.errorClasses).map(([errorClass, info]) => [errorClass, info.samples]),
		),
		last_checkpoint: {
			chunk_index: progress.chunks.done - 1,
			processed_count: processed,
			timestamp: progress.finishedAt ?? new Date(batch.now).toISOString(),
		},
		metadata: {
			chunk_size: Number(hash.chunkSize),
			num_chunks: progress.chunks.total,
			max_workers: progress.concurrency,
			retry_attempts: Number(hash.maxAttempts),
		},
		abort_reason: progress.abortReason,
		remediation: Object.keys(progress.errorClasses)
			.map((errorClass) => ADVICE.find(([pattern]) => pattern.test(errorClass))?.[1])
			.filter((advice, i, all): advice is string => !!advice && all.indexOf(advice) === i),
		meta: progress.meta,
	};
}

/** Executions of a chunk with links into the n8n editor when N8N_EDITOR_URL is set. */
export function executionLinks(
	entries: Executions[string] | undefined,
	editorUrl: string | undefined,
): Array<Executions[string][number] & { url?: string }> {
	return (entries ?? []).map((entry) =>
		editorUrl && entry.workflowId
			? {
					...entry,
					url: `${editorUrl.replace(/\/+$/, '')}/workflow/${encodeURIComponent(entry.workflowId)}/executions/${encodeURIComponent(entry.id)}`,
				}
			: entry,
	);
}
