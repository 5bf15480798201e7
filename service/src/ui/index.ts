/**
 * The operator view at /ui: a login form, a live progress page (plain files in public/, no build
 * step, nothing from a CDN), its JSON API and event stream under /ui/api, and bull-board at
 * /ui/queues. It authenticates with its own session cookie, so it is mounted before requireApiKey.
 */
import path from 'node:path';
import express, { Router } from 'express';

import type { BatchEngine } from '../batches';
import { CHUNK_QUEUE } from '../batches/dispatch/chunk-queue';
import { NOTICE_QUEUE } from '../batches/notices';
import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';
import { uiApi } from './api';
import { loginRoutes, requireSession, securityHeaders } from './auth';
import { engineAdapter } from './engine-adapter';
import type { EnginePort } from './engine-port';
import { LiveProgress, type LiveOptions } from './live';
import { queueBoard, type QueueRef } from './queues';
import { UiSessions } from './session';

export type { EnginePort } from './engine-port';
export type { QueueRef } from './queues';

export const UI_PATH = '/ui';
const PUBLIC_DIR = path.join(__dirname, 'public');

interface Running {
	live: LiveProgress;
	port: EnginePort;
	closeQueues(): Promise<void>;
}
const running = new WeakMap<ServiceContext, Running>();

export interface UiOptions {
	live?: Partial<LiveOptions>;
}

/** The operator view's router, to mount at UI_PATH before the API-key check. */
export function uiRouter(
	ctx: ServiceContext,
	port: EnginePort,
	queues: QueueRef[],
	options: UiOptions = {},
): Router {
	const sessions = new UiSessions(ctx.redis, ctx.keys.prefix, ctx.config.API_KEY);
	const live = new LiveProgress(port, options.live, (batchId, error) =>
		ctx.logger.warn({ batchId, err: (error as Error).message }, 'ui: progress read failed'),
	);
	const board = queueBoard(ctx.redis, queues, `${UI_PATH}/queues`);
	running.set(ctx, { live, port, closeQueues: board.close });

	const router = Router();
	router.use(securityHeaders);
	router.use('/assets', express.static(PUBLIC_DIR, { index: false, fallthrough: false }));
	router.use(loginRoutes(sessions));
	router.use(requireSession(sessions));
	router.get('/', (_req, res) => {
		res.set('cache-control', 'no-store').sendFile(path.join(PUBLIC_DIR, 'index.html'));
	});
	router.use(
		'/api',
		uiApi(port, live, { n8nEditorUrl: ctx.config.N8N_EDITOR_URL?.replace(/\/+$/, '') ?? null }),
	);
	router.use('/queues', board.handler);
	router.use((req, _res, next) => {
		next(new ApiError(404, 'unknown_route', `No page ${req.method} ${req.originalUrl}; open /ui/`));
	});
	return router;
}

/** The view over today's batch engine and its chunk queue, as the service mounts it. */
export function serviceUi(ctx: ServiceContext, batches: BatchEngine): Router {
	return uiRouter(ctx, engineAdapter(ctx, batches), [
		{ name: CHUNK_QUEUE, prefix: ctx.keys.bullPrefix },
		{ name: NOTICE_QUEUE, prefix: ctx.keys.bullPrefix },
	]);
}

/** Ends open event streams (server.close would wait for them) and releases the view's connections. */
export async function stopUi(ctx: ServiceContext): Promise<void> {
	const ui = running.get(ctx);
	if (!ui) return;
	running.delete(ctx);
	ui.live.close();
	await ui.port.close();
	await ui.closeQueues();
}

/** For tests: the live fan-out of a context's view (its read count proves the coalescing). */
export function liveProgressOf(ctx: ServiceContext): LiveProgress | undefined {
	return running.get(ctx)?.live;
}
