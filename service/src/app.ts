import express, { type Express, type RequestHandler } from 'express';

import { batchesRouter, type Batches } from './batches';
import type { ServiceContext } from './context';
import { cursorsRouter } from './cursors';
import { readinessRouter, livenessRouter } from './health/router';
import { requireApiKey } from './http/auth';
import { jsonBody } from './http/body';
import { errorHandler, unknownRoute } from './http/errors';
import { openApiRouter } from './http/openapi';
import { limitsRouter } from './limits/router';
import { httpRequests, metricsRouter } from './metrics';
import { smtpRouter } from './smtp';
import { serviceUi, UI_PATH } from './ui';

/** The HTTP surface; exported without listening so tests can drive it with supertest. */
export function createApp(ctx: ServiceContext, batches: Batches): Express {
	const app = express();
	app.disable('x-powered-by');
	app.use(countRequests);
	app.use(livenessRouter());
	// The operator view checks its own session cookie, so it comes before the API key.
	app.use(UI_PATH, serviceUi(ctx, batches.engine));
	// Authenticate before parsing, so an unauthenticated client cannot make us read a large body.
	app.use(requireApiKey(ctx.config.API_KEY));
	app.use(jsonBody(ctx.config.MAX_BODY_BYTES));
	app.use(readinessRouter(ctx));
	app.use(metricsRouter());
	app.use(openApiRouter());
	// Feature routers: one line each.
	app.use(batchesRouter(batches.engine, ctx.config));
	app.use(limitsRouter(ctx));
	app.use(cursorsRouter(ctx));
	app.use(smtpRouter(ctx));
	app.use(unknownRoute);
	app.use(errorHandler(ctx.logger));
	return app;
}

const countRequests: RequestHandler = (req, res, next) => {
	res.on('finish', () => {
		// The matched route pattern keeps label cardinality bounded (ids stay out of labels).
		const route = (req.route as { path?: string } | undefined)?.path ?? 'unmatched';
		httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
	});
	next();
};
