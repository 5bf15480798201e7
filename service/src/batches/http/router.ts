import { Router } from 'express';
import { z } from 'zod';

import { BATCH_STATES, SKIP_REASONS } from '../../../../nodes/shared/contract';

import type { Config } from '../../config';
import { describeRoute, type Operation } from '../../http/openapi';
import type { BatchEngine } from '../engine';
import { batchHandlers } from './handlers';
import {
	appendItemsBody,
	chunksQuery,
	claimBody,
	createBatchBody,
	deadLetterSchema,
	deadLettersQuery,
	listQuery,
	nextChunkBody,
	patchBatchBody,
	progressSchema,
	recordResultsBody,
	replayBody,
	waitQuery,
} from './schemas';

const tags = ['batches'];
const withCreated = progressSchema.extend({ created: z.boolean() });
const pageAnswer = z.object({
	batchId: z.string(),
	accepted: z.number(),
	duplicates: z.number(),
	replayed: z.boolean().describe('true: this pageId was applied before; nothing changed'),
	state: z.string(),
	counts: progressSchema.shape.counts,
});
const claimAnswer = z.object({
	claimed: z.array(z.string()),
	skipped: z.array(
		z.object({
			key: z.string(),
			reason: z.enum(SKIP_REASONS),
			dueAt: z.string().optional().describe('not_due: when the item may be claimed'),
		}),
	),
	lease: z.string(),
	leaseExpiresAt: z.string(),
	state: z.enum(BATCH_STATES),
});
const resultsAnswer = z.object({
	batchId: z.string(),
	chunkIndexes: z.array(z.number()),
	succeeded: z.number(),
	retryScheduled: z.number(),
	deadLettered: z.number(),
	released: z.number(),
	ignored: z.array(
		z.object({
			key: z.string(),
			reason: z.enum(['unknown', 'finished', 'dead_lettered', 'stale_lease', 'already_recorded']),
		}),
	),
	progress: z.object({
		state: z.enum(BATCH_STATES),
		percent: z.number(),
		counts: progressSchema.shape.counts,
		itemsPerSecond: z.number(),
		etaSeconds: z.number().nullable(),
	}),
});
const execution = z.object({
	id: z.string(),
	workflowId: z.string(),
	status: z.string(),
	at: z.string(),
	url: z.string().optional(),
});
const chunksAnswer = z.object({
	chunks: z.array(
		z.object({
			chunkIndex: z.number(),
			items: z.number(),
			left: z.number(),
			generation: z.number(),
			started: z.boolean(),
			executions: z.array(execution),
		}),
	),
	nextCursor: z.string().nullable(),
});

type Route = Omit<Operation, 'tags'> & { handler: string };

const controlRoute = (verb: string, summary: string): Route => ({
	method: 'post',
	path: `/v1/batches/:batchId/${verb}`,
	summary,
	response: { status: 200, description: 'Progress', schema: progressSchema },
	errors: [404, 409],
	handler: verb,
});

/** Every batch route, described for the OpenAPI document next to the schemas that validate it. */
const ROUTES: Route[] = [
	{
		method: 'post',
		path: '/v1/batches',
		summary: 'Create a batch, idempotent by batchKey',
		body: createBatchBody,
		response: {
			status: 201,
			description: 'Created (200 with created:false when it existed)',
			schema: withCreated,
		},
		handler: 'create',
	},
	{
		method: 'get',
		path: '/v1/batches',
		summary: 'List batches, newest first',
		query: listQuery,
		response: {
			status: 200,
			description: '{ batches, nextCursor }',
			schema: z.object({ batches: z.array(progressSchema), nextCursor: z.string().nullable() }),
		},
		handler: 'list',
	},
	{
		method: 'get',
		path: '/v1/batches/:batchId',
		summary: 'Progress of one batch',
		response: {
			status: 200,
			description: 'Counts, percent, rate, ETA, error classes, breaker',
			schema: progressSchema,
		},
		errors: [404],
		handler: 'get',
	},
	{
		method: 'patch',
		path: '/v1/batches/:batchId',
		summary: 'Change concurrency while running',
		body: patchBatchBody,
		response: { status: 200, description: 'Progress', schema: progressSchema },
		errors: [404, 409],
		handler: 'patch',
	},
	{
		method: 'delete',
		path: '/v1/batches/:batchId',
		summary: 'Delete a finished batch and everything it holds (refused while it runs)',
		response: {
			status: 200,
			description: '{ batchId, deleted }',
			schema: z.object({ batchId: z.string(), deleted: z.boolean() }),
		},
		errors: [404, 409],
		handler: 'remove',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/items',
		summary: 'Append a page of items; duplicate keys are skipped',
		body: appendItemsBody,
		response: { status: 200, description: 'Accepted and duplicate counts', schema: pageAnswer },
		errors: [404, 409, 413],
		handler: 'append',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/seal',
		summary: 'No more items; idempotent',
		response: { status: 200, description: 'Progress', schema: progressSchema },
		errors: [404],
		handler: 'seal',
	},
	{
		method: 'get',
		path: '/v1/batches/:batchId/wait',
		summary: 'Long-poll until the batch is finished or timeoutMs passes',
		query: waitQuery,
		response: {
			status: 200,
			description: '{ done, progress }',
			schema: z.object({ done: z.boolean(), progress: progressSchema }),
		},
		errors: [404],
		handler: 'wait',
	},
	controlRoute('pause', 'Pause dispatch'),
	controlRoute('resume', 'Resume dispatch'),
	controlRoute('cancel', 'Cancel: queued chunks dropped, in-flight ones finish'),
	{
		method: 'get',
		path: '/v1/batches/:batchId/dead-letters',
		summary: 'Dead-lettered items',
		query: deadLettersQuery,
		response: {
			status: 200,
			description: '{ deadLetters, total }',
			schema: z.object({ deadLetters: z.array(deadLetterSchema), total: z.number() }),
		},
		errors: [404],
		handler: 'deadLetters',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/dead-letters/retry',
		summary: 'Put dead letters (all or one class) back to pending',
		body: replayBody,
		response: {
			status: 200,
			description: 'Replayed count and progress',
			schema: progressSchema.extend({ replayed: z.number(), errorClass: z.string().nullable() }),
		},
		errors: [404, 409],
		handler: 'replay',
	},
	{
		method: 'get',
		path: '/v1/batches/:batchId/report',
		summary: 'Final report (BatchJobResult shape, snake_case)',
		response: { status: 200, description: 'Report' },
		errors: [404],
		handler: 'report',
	},
	{
		method: 'get',
		path: '/v1/batches/:batchId/chunks',
		summary: 'Chunks with items left and their latest n8n executions',
		query: chunksQuery,
		response: { status: 200, description: '{ chunks, nextCursor }', schema: chunksAnswer },
		errors: [404],
		handler: 'chunks',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/claim',
		summary: 'Checkpoint Claim: lease items not finished and not leased',
		body: claimBody,
		response: {
			status: 200,
			description: 'Claimed and skipped keys, and the lease',
			schema: claimAnswer,
		},
		errors: [404, 409],
		handler: 'claim',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/next-chunk',
		summary: 'Loop: lease the next chunk to work (resumes at the first unfinished one)',
		body: nextChunkBody,
		response: {
			status: 200,
			description:
				'{ kind: chunk | wait | done, chunkIndex, lease, items, retryAfterMs, previous, progress }',
		},
		errors: [404],
		handler: 'nextChunk',
	},
	{
		method: 'post',
		path: '/v1/batches/:batchId/results',
		summary: 'Checkpoint Record Results',
		body: recordResultsBody,
		response: {
			status: 200,
			description: 'What was recorded and what was ignored',
			schema: resultsAnswer,
		},
		errors: [404],
		handler: 'record',
	},
];

export function batchesRouter(engine: BatchEngine, config: Config): Router {
	const router = Router();
	const handlers = batchHandlers(engine, config);
	for (const { handler, ...operation } of ROUTES) {
		describeRoute({ ...operation, tags });
		router[operation.method](operation.path, handlers[handler]);
	}
	return router;
}
