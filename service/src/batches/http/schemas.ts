import { z } from 'zod';

import {
	BATCH_LIMITS,
	BATCH_STATES,
	IN_DOUBT_POLICIES,
	MAX_ITEMS_PER_REQUEST,
	type NumberRange,
} from '../../../../nodes/shared/contract';
import { idSchema } from '../../http/validate';

export { BATCH_STATES, TERMINAL_STATES, type BatchState } from '../../../../nodes/shared/contract';

/** A number field with the contract's range and default (the nodes use the same numbers). */
const limit = (rule: NumberRange) => {
	const base = rule.integer ? z.int() : z.number();
	return base.min(rule.min).max(rule.max);
};
const withDefault = (rule: NumberRange) => limit(rule).default(rule.default);
const httpUrl = z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' });

export const createBatchBody = z
	.strictObject({
		batchKey: idSchema.describe('Same key -> same batch; it is also the batchId'),
		targetUrl: httpUrl
			.optional()
			.describe('Worker webhook the chunks are POSTed to; without it items are worked by Claim'),
		chunkSize: withDefault(BATCH_LIMITS.chunkSize),
		concurrency: withDefault(BATCH_LIMITS.concurrency),
		maxAttempts: withDefault(BATCH_LIMITS.maxAttempts),
		backoff: z
			.strictObject({
				initialMs: withDefault(BATCH_LIMITS.backoffInitialMs),
				maxMs: withDefault(BATCH_LIMITS.backoffMaxMs),
			})
			.refine((b) => b.maxMs >= b.initialMs, { message: 'maxMs must not be below initialMs' })
			.default({
				initialMs: BATCH_LIMITS.backoffInitialMs.default,
				maxMs: BATCH_LIMITS.backoffMaxMs.default,
			}),
		failureThreshold: z
			.strictObject({
				ratio: limit(BATCH_LIMITS.failureRatio),
				minSample: withDefault(BATCH_LIMITS.failureMinSample),
			})
			.optional(),
		priority: withDefault(BATCH_LIMITS.priority).describe('0 is the highest'),
		timeoutMs: withDefault(BATCH_LIMITS.timeoutMs),
		inDoubt: z
			.enum(IN_DOUBT_POLICIES)
			.default('retry')
			.describe(
				'An item whose attempt never reported: retry it (at-least-once) or hold it as a dead letter of class in_doubt',
			),
		adaptiveChunkSize: z
			.strictObject({
				targetSeconds: limit(BATCH_LIMITS.adaptiveTargetSeconds),
				min: limit(BATCH_LIMITS.chunkSize),
				max: limit(BATCH_LIMITS.chunkSize),
			})
			.refine((a) => a.max >= a.min, { message: 'max must not be below min' })
			.optional()
			.describe('Size the next chunks so one takes about targetSeconds'),
		delivery: z
			.enum(['webhook', 'smtp'])
			.default('webhook')
			.describe(
				'webhook: chunks are POSTed to targetUrl; smtp: the service sends each item as an e-mail',
			),
		smtp: z
			.strictObject({
				transport: idSchema.describe(
					'A transport named in the service environment (SMTP_TRANSPORT_<NAME>)',
				),
				from: z.string().min(3).max(320).optional().describe('Default From of items without one'),
				messageIdDomain: z
					.string()
					.regex(/^[A-Za-z0-9]([A-Za-z0-9-]{0,62}\.)*[A-Za-z0-9-]{1,63}$/, 'must be a domain name')
					.optional()
					.describe('Right side of each Message-ID (default: the From domain)'),
			})
			.optional(),
		limiterKey: idSchema.optional(),
		milestoneUrl: httpUrl.optional(),
		completionUrl: httpUrl
			.optional()
			.describe('POSTed once, with the final report, when the batch ends'),
		meta: z.record(z.string(), z.unknown()).default({}),
	})
	.superRefine((batch, ctx) => {
		if (batch.delivery === 'smtp' && !batch.smtp) {
			ctx.addIssue({
				code: 'custom',
				path: ['smtp'],
				message: 'delivery "smtp" needs smtp.transport: the name of a transport the service has',
			});
		}
		if (batch.delivery === 'smtp' && batch.targetUrl) {
			ctx.addIssue({
				code: 'custom',
				path: ['targetUrl'],
				message: 'delivery "smtp" sends the items itself: leave targetUrl out',
			});
		}
		if (batch.delivery === 'webhook' && batch.smtp) {
			ctx.addIssue({
				code: 'custom',
				path: ['smtp'],
				message: 'smtp settings need delivery "smtp"',
			});
		}
	})
	.describe('Batch settings');
export type CreateBatchInput = z.infer<typeof createBatchBody>;

export const itemSchema = z.strictObject({
	key: idSchema,
	json: z.record(z.string(), z.unknown(), { error: 'must be a JSON object' }),
});
export const appendItemsBody = z.strictObject({
	items: z.array(itemSchema).max(MAX_ITEMS_PER_REQUEST),
	final: z.boolean().optional().describe('true seals the batch after this page'),
	pageId: idSchema
		.optional()
		.describe('Names the page: a page re-sent with the same id (lost answer) counts once'),
});

const execution = z
	.strictObject({ id: z.string().min(1).max(64), workflowId: z.string().max(64).default('') })
	.optional()
	.describe('The n8n execution doing the work, so chunks link to it');

export const claimBody = z.strictObject({
	keys: z.array(idSchema).min(1).max(MAX_ITEMS_PER_REQUEST),
	lease: idSchema.optional(),
	leaseMs: withDefault(BATCH_LIMITS.leaseMs),
	claimId: idSchema
		.optional()
		.describe('Names this claim: re-sent with the same id it answers the same items'),
	maxItems: z
		.int()
		.min(1)
		.max(MAX_ITEMS_PER_REQUEST)
		.optional()
		.describe('Lease at most this many; the rest stay free for other executions (over_max_items)'),
	execution,
});

export const nextChunkBody = z.strictObject({
	leaseMs: withDefault(BATCH_LIMITS.leaseMs),
	previousChunk: z
		.int()
		.min(0)
		.optional()
		.describe('The chunk the loop body just worked: the answer says if its results were recorded'),
	execution,
});

export const resultErrorSchema = z.strictObject({
	message: z.string().max(10_000),
	class: idSchema.optional(),
	httpCode: z.int().min(100).max(599).optional(),
	retryAfterMs: limit(BATCH_LIMITS.retryAfterMs).optional(),
	transient: z.boolean().optional(),
});
export type ResultError = z.infer<typeof resultErrorSchema>;
export const recordResultsBody = z.strictObject({
	lease: idSchema.optional(),
	execution,
	results: z
		.array(
			z.strictObject({
				key: idSchema,
				status: z.enum(['succeeded', 'failed', 'released']),
				error: resultErrorSchema.optional(),
				retryAfterMs: limit(BATCH_LIMITS.retryAfterMs)
					.optional()
					.describe('released: when the item may be claimed again'),
			}),
		)
		.min(1)
		.max(MAX_ITEMS_PER_REQUEST),
});

export const patchBatchBody = z.strictObject({ concurrency: limit(BATCH_LIMITS.concurrency) });
export const replayBody = z.strictObject({ errorClass: idSchema.optional() });

export const waitQuery = z.strictObject({
	timeoutMs: z.coerce.number().int().min(0).max(60_000).default(30_000),
});
export const listQuery = z.strictObject({
	state: z.enum(BATCH_STATES).optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50),
	cursor: z
		.string()
		.regex(/^\d{1,9}$/, 'must be the nextCursor of an earlier page')
		.optional(),
});
export const deadLettersQuery = z.strictObject({
	limit: z.coerce.number().int().min(1).max(1000).default(100),
	errorClass: idSchema.optional(),
});
export const chunksQuery = z.strictObject({
	limit: z.coerce.number().int().min(1).max(1000).default(100),
	cursor: z
		.string()
		.regex(/^\d{1,9}$/, 'must be the nextCursor of an earlier page')
		.optional(),
});

const counts = z.object({
	total: z.number(),
	pending: z.number(),
	inFlight: z.number(),
	retrying: z.number(),
	succeeded: z.number(),
	skipped: z.number(),
	deadLettered: z.number().describe('in_doubt dead letters included'),
	inDoubt: z.number().describe('dead letters of class in_doubt: attempts that never reported'),
	released: z.number().describe('items given back unworked (no attempt spent)'),
});
export const progressSchema = z.object({
	batchId: z.string(),
	batchKey: z.string(),
	state: z.enum(BATCH_STATES),
	sealed: z.boolean(),
	counts,
	percent: z.number(),
	itemsPerSecond: z
		.number()
		.describe('last minute while running; average over the run once finished'),
	etaSeconds: z.number().nullable(),
	concurrency: z.number(),
	inDoubt: z.enum(IN_DOUBT_POLICIES),
	chunkSize: z.object({
		configured: z.number(),
		current: z.number(),
		adaptive: z.boolean(),
		changes: z.number(),
		changedAt: z.string().nullable(),
	}),
	chunks: z.object({
		total: z.number().describe('cut so far plus those the remaining items will make'),
		cut: z.number(),
		done: z.number(),
	}),
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
	limiterKey: z.string().nullable(),
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
	inDoubt: z
		.object({
			lease: z.string(),
			leaseStartedAt: z.string().nullable(),
			leaseExpiredAt: z.string().nullable(),
			cause: z.string().nullable(),
		})
		.optional()
		.describe('in_doubt only: the attempt that never reported'),
});
export type DeadLetter = z.infer<typeof deadLetterSchema>;
