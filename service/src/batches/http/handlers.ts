import type { Request, Response } from 'express';

import type { Config } from '../../config';
import { ApiError } from '../../http/errors';
import { idSchema, parse } from '../../http/validate';
import type { BatchEngine } from '../engine';
import {
	appendItemsBody,
	chunksQuery,
	claimBody,
	createBatchBody,
	deadLettersQuery,
	listQuery,
	nextChunkBody,
	patchBatchBody,
	recordResultsBody,
	replayBody,
	waitQuery,
} from './schemas';

type Handler = (req: Request, res: Response) => Promise<void>;

const batchIdOf = (req: Request): string => parse(idSchema, req.params.batchId, 'batchId');
/** Routes whose body is optional read an absent body as {}. */
const bodyOf = (req: Request): unknown => req.body ?? {};

/** HTTP handlers: validate with the zod schemas, call the engine, answer JSON. */
export function batchHandlers(engine: BatchEngine, config: Config): Record<string, Handler> {
	return {
		create: async (req, res) => {
			const input = parse(createBatchBody, req.body, 'body');
			const batch = await engine.create(input);
			res.status(batch.created ? 201 : 200).json(batch);
		},
		list: async (req, res) => {
			const query = parse(listQuery, req.query, 'query');
			res.json(await engine.list(query.state, query.limit, Number(query.cursor ?? 0)));
		},
		get: async (req, res) => {
			res.json(await engine.progress(batchIdOf(req)));
		},
		append: async (req, res) => {
			const batchId = batchIdOf(req);
			const body = parse(appendItemsBody, req.body, 'body');
			const max = config.MAX_ITEMS_PER_PAGE;
			if (body.items.length > max) {
				throw new ApiError(
					413,
					'page_too_large',
					`Page has ${body.items.length} items; at most ${max} per page (MAX_ITEMS_PER_PAGE). Send smaller pages.`,
				);
			}
			res.json(await engine.append(batchId, body.items, body.final === true, body.pageId));
		},
		seal: async (req, res) => {
			res.json(await engine.seal(batchIdOf(req)));
		},
		wait: async (req, res) => {
			const batchId = batchIdOf(req);
			const { timeoutMs } = parse(waitQuery, req.query, 'query');
			const gone = new AbortController();
			res.on('close', () => gone.abort());
			res.json(await engine.wait(batchId, timeoutMs, gone.signal));
		},
		pause: async (req, res) => {
			res.json(await engine.control(batchIdOf(req), 'pause'));
		},
		resume: async (req, res) => {
			res.json(await engine.control(batchIdOf(req), 'resume'));
		},
		cancel: async (req, res) => {
			res.json(await engine.control(batchIdOf(req), 'cancel'));
		},
		patch: async (req, res) => {
			const batchId = batchIdOf(req);
			const { concurrency } = parse(patchBatchBody, req.body, 'body');
			res.json(await engine.control(batchId, 'concurrency', concurrency));
		},
		remove: async (req, res) => {
			res.json(await engine.delete(batchIdOf(req)));
		},
		deadLetters: async (req, res) => {
			const batchId = batchIdOf(req);
			const query = parse(deadLettersQuery, req.query, 'query');
			res.json(await engine.deadLetters(batchId, query.limit, query.errorClass));
		},
		replay: async (req, res) => {
			const batchId = batchIdOf(req);
			const { errorClass } = parse(replayBody, bodyOf(req), 'body');
			res.json(await engine.replay(batchId, errorClass));
		},
		report: async (req, res) => {
			res.json(await engine.report(batchIdOf(req)));
		},
		chunks: async (req, res) => {
			const batchId = batchIdOf(req);
			const query = parse(chunksQuery, req.query, 'query');
			res.json(await engine.chunkList(batchId, query.limit, Number(query.cursor ?? 0)));
		},
		claim: async (req, res) => {
			const batchId = batchIdOf(req);
			const body = parse(claimBody, req.body, 'body');
			res.json(await engine.claim(batchId, body.keys, body));
		},
		nextChunk: async (req, res) => {
			const batchId = batchIdOf(req);
			const body = parse(nextChunkBody, bodyOf(req), 'body');
			res.json(await engine.nextChunk(batchId, body));
		},
		record: async (req, res) => {
			const batchId = batchIdOf(req);
			const body = parse(recordResultsBody, req.body, 'body');
			res.json(await engine.record(batchId, body.lease, body.results, body.execution));
		},
	};
}
