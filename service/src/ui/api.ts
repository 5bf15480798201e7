import express, { Router, type Request, type Response } from 'express';
import { z } from 'zod';

import { BATCH_STATES } from '../../../nodes/shared/contract';
import { idSchema, parse } from '../http/validate';
import { requireUiHeader } from './auth';
import type { EnginePort } from './engine-port';
import type { LiveProgress } from './live';

const listQuery = z.object({
	state: z.enum(BATCH_STATES).optional(),
	limit: z.coerce.number().int().min(1).max(200).default(50),
	cursor: z.coerce.number().int().min(0).max(999_999_999).default(0),
});
const deadLettersQuery = z.object({
	limit: z.coerce.number().int().min(1).max(1000).default(50),
	errorClass: idSchema.optional(),
});
const replayBody = z.object({ errorClass: idSchema.optional() }).strict();
const streamQuery = z.object({ batch: idSchema.optional() });
const batchParams = z.object({ batchId: idSchema });

/** Chunks whose executions the detail view lists (the first ones of the batch). */
const CHUNKS_SHOWN = 200;
/** Past this many unsent bytes a viewer is too slow; it is dropped and its browser reconnects. */
const MAX_BUFFERED_BYTES = 1024 * 1024;

export interface UiSettings {
	n8nEditorUrl: string | null;
}

/** The page's JSON API and its event stream; mounted behind the session check. */
export function uiApi(port: EnginePort, live: LiveProgress, settings: UiSettings): Router {
	const router = Router();
	const batchId = (req: Request): string => parse(batchParams, req.params, 'path').batchId;
	router.use((_req, res, next) => {
		res.set('cache-control', 'no-store');
		next();
	});

	router.get('/settings', (_req, res) => {
		res.json(settings);
	});

	router.get('/batches', async (req, res) => {
		const query = parse(listQuery, req.query, 'query');
		const page = await port.list(query.state, query.limit, query.cursor);
		for (const progress of page.batches) live.seen(progress);
		res.json(page);
	});

	router.get('/batches/:batchId', async (req, res) => {
		const id = batchId(req);
		const [progress, limiter, deadLetters, chunks] = await Promise.all([
			port.progress(id),
			port.limiter(id),
			port.deadLetters(id, 50),
			port.chunks(id, CHUNKS_SHOWN, 0),
		]);
		live.seen(progress);
		// Only chunks an n8n execution worked carry a link worth showing.
		const executions = chunks.chunks.filter((chunk) => chunk.executions.length > 0);
		res.json({ progress, limiter, deadLetters, executions });
	});

	router.get('/batches/:batchId/dead-letters', async (req, res) => {
		const query = parse(deadLettersQuery, req.query, 'query');
		res.json(await port.deadLetters(batchId(req), query.limit, query.errorClass));
	});

	router.get('/batches/:batchId/report', async (req, res) => {
		res.json(await port.report(batchId(req)));
	});

	for (const op of ['pause', 'resume', 'cancel'] as const) {
		router.post(`/batches/:batchId/${op}`, requireUiHeader, async (req, res) => {
			res.json(await port.control(batchId(req), op));
		});
	}

	router.post(
		'/batches/:batchId/replay',
		requireUiHeader,
		express.json({ limit: '4kb' }),
		async (req, res) => {
			const { errorClass } = parse(replayBody, req.body ?? {}, 'body');
			res.json(await port.replay(batchId(req), errorClass));
		},
	);

	router.get('/events', (req, res) => openStream(req, res, live));
	return router;
}

/** Server-sent events: `progress` frames (a batch's progress JSON) and `gone` (batch deleted). */
function openStream(req: Request, res: Response, live: LiveProgress): void {
	const { batch } = parse(streamQuery, req.query, 'query');
	res.writeHead(200, {
		'content-type': 'text/event-stream; charset=utf-8',
		'cache-control': 'no-store',
		connection: 'keep-alive',
		// Proxies such as nginx would otherwise buffer the stream.
		'x-accel-buffering': 'no',
	});
	res.flushHeaders();
	let ended = false;
	let expiry: NodeJS.Timeout | undefined;
	const end = (): void => {
		if (ended) return;
		ended = true;
		clearTimeout(expiry);
		detach();
		res.end();
	};
	const detach = live.attach({
		batchId: batch,
		write: (frame) => {
			if (res.destroyed) return false;
			res.write(frame);
			return res.writableLength < MAX_BUFFERED_BYTES;
		},
		end: () => end(),
	});
	// The stream ends with the session; the browser reconnects and meets the login check again.
	expiry = setTimeout(end, Number(res.locals.sessionRemainingMs ?? 0));
	expiry.unref();
	req.on('close', end);
}
