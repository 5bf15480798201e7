import { Router } from 'express';
import { z } from 'zod';

import type { ServiceContext } from '../context';
import { requiredBody } from '../http/body';
import { notFound } from '../http/errors';
import { describeRoute } from '../http/openapi';
import { parse } from '../http/validate';
import {
	listSuppressionsQuery,
	putSuppressionBody,
	suppressionSchema,
	transportSchema,
} from './schemas';
import { checkAddress, Suppressions } from './suppressions';
import { describeTransport } from './transports';

/** The transports direct delivery can use (names and settings, never logins) and the suppression list. */
export function smtpRouter(ctx: ServiceContext): Router {
	const suppressions = new Suppressions(ctx);
	const router = Router();
	const tags = ['smtp'];

	describeRoute({
		method: 'get',
		path: '/v1/transports',
		summary: 'The SMTP transports this service has (SMTP_TRANSPORT_<NAME>), without their logins',
		tags,
		response: {
			status: 200,
			description: '{ transports }',
			schema: z.object({ transports: z.array(transportSchema) }),
		},
	});
	router.get('/v1/transports', (_req, res) => {
		res.json({ transports: ctx.config.SMTP_TRANSPORTS.map(describeTransport) });
	});

	describeRoute({
		method: 'get',
		path: '/v1/suppressions',
		summary: 'The suppression list: addresses direct delivery skips, and why',
		tags,
		query: listSuppressionsQuery,
		response: {
			status: 200,
			description: 'A page of entries (in no order), nextCursor (null at the end) and the total',
			schema: z.object({
				suppressions: z.array(suppressionSchema),
				nextCursor: z.string().nullable(),
				total: z.number(),
			}),
		},
	});
	router.get('/v1/suppressions', async (req, res) => {
		const query = parse(listSuppressionsQuery, req.query, 'query');
		res.json(await suppressions.list(query.limit, query.cursor));
	});

	const path = '/v1/suppressions/:address';
	const addressOf = (params: Record<string, string>) => checkAddress(params.address);

	describeRoute({
		method: 'get',
		path,
		summary: 'Whether an address is suppressed, and why',
		tags,
		response: { status: 200, description: 'The entry', schema: suppressionSchema },
		errors: [404],
	});
	router.get(path, async (req, res) => {
		const address = addressOf(req.params);
		const entry = await suppressions.get(address);
		if (!entry) throw notFound(`${address} is not on the suppression list`);
		res.json(entry);
	});

	describeRoute({
		method: 'put',
		path,
		summary: 'Suppress an address by hand (replaces an existing entry)',
		tags,
		body: putSuppressionBody,
		response: { status: 200, description: 'The entry', schema: suppressionSchema },
	});
	router.put(path, async (req, res) => {
		const { reason } = parse(putSuppressionBody, requiredBody(req), 'body');
		const address = addressOf(req.params);
		res.json(await suppressions.add(address, { reason, source: 'api' }));
	});

	describeRoute({
		method: 'delete',
		path,
		summary: 'Take an address off the list: later batches send to it again',
		tags,
		response: {
			status: 200,
			description: '{ address, deleted }',
			schema: z.object({ address: z.string(), deleted: z.boolean() }),
		},
		errors: [404],
	});
	router.delete(path, async (req, res) => {
		const address = addressOf(req.params);
		if (!(await suppressions.remove(address))) {
			throw notFound(`${address} is not on the suppression list`);
		}
		res.json({ address, deleted: true });
	});

	return router;
}
