import express, { type Express } from 'express';

import { batchesRouter } from './batches/router';
import type { ServiceContext } from './context';
import { readinessRouter, livenessRouter } from './health/router';
import { requireApiKey } from './http/auth';
import { errorHandler, unknownRoute } from './http/errors';

/** The HTTP surface; exported without listening so tests can drive it with supertest. */
export function createApp(ctx: ServiceContext): Express {
	const app = express();
	app.disable('x-powered-by');
	app.set('trust proxy', false);
	app.use(livenessRouter());
	app.use(requireApiKey(ctx.config.API_KEY));
	app.use(express.json({ limit: ctx.config.MAX_BODY_BYTES, strict: true }));
	app.use(readinessRouter(ctx));
	app.use(batchesRouter(ctx));
	app.use(unknownRoute);
	app.use(errorHandler(ctx.logger));
	return app;
}
