import { z } from 'zod';

import { idSchema } from '../http/validate';

const ms = (max: number) => z.int().min(0).max(max);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const BATCH_STATES = [
	'open',
	'running',
	'paused',
	'completed',
	'completed_with_errors',
	'aborted',
	'cancelled',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];
export const TERMINAL_STATES: ReadonlySet<string> = new Set([
	'completed',
	'completed_with_errors',
	'aborted',
	'cancelled',
]);

export const createBatchBody = z
	.object({
		batchKey: idSchema.describe('Same key -> same batch; it is also the batchId'),
		targetUrl: httpUrl
			.optional()
			.describe('Worker webhook the chunks are POSTed to; without it items are worked by Claim'),
		chunkSize: z.int().min(1).max(10_000).default(100),
		concurrency: z.int().min(1).max(1000).default(4),
		maxAttempts: z.int().min(1).max(100).default(5),
		backoff: z
			.object({ initialMs: ms(86_400_000).default(1000), maxMs: ms(86_400_000).default(300_000) })
			.refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must not be below initialMs' })
			.default({ initialMs: 1000, maxMs: 300_000 }),
		failureThreshold: z
			.object({ ratio: z.number().min(0).max(1), minSample: z.int().min(1).default(100) })
			.optional(),
		priority: z.int().min(0).max(100).default(0).describe('0 is the highest'),
		timeoutMs: z.int().min(100).max(3_600_000).default(120_000),
		limiterKey: idSchema.optional(),
		milestoneUrl: httpUrl.optional(),
		meta: z.record(z.string(), z.unknown()).default({}),
	})
	.describe('Batch settings');
export type CreateBatchInput = z.infer<typeof createBatchBody>;

export const itemSchema = z.object({
	key: idSchema,
	json: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
});
export const appendItemsBody = z.object({
	items: z.array(itemSchema),
	final: z.boolean().optional().describe('true seals the batch after this page'),
});

export const claimBody = z.object({
	keys: z.array(idSchema).min(1).max(10_000),
	lease: idSchema.optional(),
	leaseMs: z.int().min(100).max(86_400_000).default(60_000),
});

export const resultErrorSchema = z.object({
	message: z.string().max(10_000),
	class: idSchema.optional(),
	httpCode: z.int().min(100).max(599).optional(),
	retryAfterMs: ms(86_400_000).optional(),
	transient: z.boolean().optional(),
});
export type ResultError = z.infer<typeof resultErrorSchema>;
export const recordResultsBody = z.object({
	lease: idSchema.optional(),
	results: z
		.array(
			z.object({
				key: idSchema,
				status: z.enum(['succeeded', 'failed']),
				error: resultErrorSchema.optional(),
			}),
		)
		.min(1)
		.max(10_000),
});

export const patchBatchBody = z.object({ concurrency: z.int().min(1).max(1000) }).strict();
export const replayBody = z.object({ errorClass: idSchema.optional() }).strict();

export const waitQuery = z.object({
	timeoutMs: z.coerce.number().int().min(0).max(60_000).default(30_000),
});
export const listQuery = z.object({
	state: z.enum(BATCH_STATES).optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50),
	cursor: z
		.string()
		.regex(/^\d{1,9}$/, 'must be the nextCursor of an earlier page')
		.optional(),
});
export const deadLettersQuery = z.object({
	limit: z.coerce.number().int().min(1).max(1000).default(100),
	errorClass: idSchema.optional(),
});

const counts = z.object({
	total: z.number(),
	pending: z.number(),
	inFlight: z.number(),
	retrying: z.number(),
	succeeded: z.number(),
	skipped: z.number(),
	deadLettered: z.number(),
});
export const progressSchema = z.object({
	batchId: z.string(),
	batchKey: z.string(),
	state: z.enum(BATCH_STATES),
	sealed: z.boolean(),
	counts,
	percent: z.number(),
	itemsPerSecond: z.number(),
	etaSeconds: z.number().nullable(),
	concurrency: z.number(),
	chunks: z.object({ total: z.number(), done: z.number() }),
	errorClasses: z.record(
		z.string(),
		z.object({
			count: z.number(),
			samples: z.array(z.object({ key: z.string(), message: z.string() })),
		}),
	),
	breaker: z
		.object({
			state: z.enum(['closed', 'open', 'half_open']),
			consecutiveFailures: z.number(),
			openedAt: z.string().nullable(),
		})
		.nullable(),
	abortReason: z.string().nullable(),
	createdAt: z.string(),
	startedAt: z.string().nullable(),
	finishedAt: z.string().nullable(),
	meta: z.record(z.string(), z.unknown()),
});
export type BatchProgress = z.infer<typeof progressSchema>;

export const deadLetterSchema = z.object({
	key: z.string(),
	class: z.string(),
	message: z.string(),
	attempts: z.number(),
	httpCode: z.number().optional(),
	chunkIndex: z.number(),
	firstAt: z.string(),
	lastAt: z.string(),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
