import { Router } from 'express';

import type { ServiceContext } from '../context';
import { notFound } from '../http/errors';
import { describeRoute } from '../http/openapi';
import { idSchema, parse } from '../http/validate';
import { readBatchProgress } from './store';

export function batchesRouter(ctx: ServiceContext): Router {
	const router = Router();
	describeRoute({
		method: 'get',
		path: '/v1/batches/:batchId',
		summary: 'Progress of one batch',
		tags: ['batches'],
		response: { status: 200, description: 'Counts, percent, state' },
		errors: [404],
	});
	router.get('/v1/batches/:batchId', async (req, res) => {
		const batchId = parse(idSchema, req.params.batchId, 'batchId');
		const progress = await readBatchProgress(ctx, batchId);
		if (!progress) throw notFound(`No batch '${batchId}'; Submit Batch returns the batchId to use`);
		res.json(progress);
	});
	return router;
}
