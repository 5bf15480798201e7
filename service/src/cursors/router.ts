import { Router } from 'express';
import { z } from 'zod';

import type { ServiceContext } from '../context';
import { requiredBody } from '../http/body';
import { describeRoute } from '../http/openapi';
import { idSchema, parse } from '../http/validate';
import { Cursors } from './cursors';
import { cursorSchema, deleteCursorQuery, saveCursorBody } from './schemas';

/** Cursor routes: load, save (compare and set on the version), delete. */
export function cursorsRouter(ctx: ServiceContext): Router {
	const cursors = new Cursors(ctx);
	const router = Router();
	const nameOf = (params: Record<string, string>): string => parse(idSchema, params.name, 'name');
	const path = '/v1/cursors/:name';
	const tags = ['cursors'];

	describeRoute({
		method: 'get',
		path,
		summary: 'Load Cursor: the value, version and checksum (checked before answering)',
		tags,
		response: { status: 200, description: 'The cursor', schema: cursorSchema },
		errors: [404, 409],
	});
	router.get(path, async (req, res) => {
		res.json(await cursors.load(nameOf(req.params)));
	});

	describeRoute({
		method: 'put',
		path,
		summary: 'Save Cursor: a new value, only from the version the cursor is at',
		tags,
		body: saveCursorBody,
		response: {
			status: 200,
			description: 'The saved cursor; replayed: true for a re-sent save',
			schema: cursorSchema.extend({ replayed: z.boolean() }),
		},
		errors: [409],
	});
	router.put(path, async (req, res) => {
		const name = nameOf(req.params);
		const body = parse(saveCursorBody, requiredBody(req), 'body');
		const { execution } = body;
		const savedBy = execution
			? `n8n execution ${execution.id}${execution.workflowId ? ` of workflow ${execution.workflowId}` : ''}`
			: undefined;
		res.json(
			await cursors.save(name, {
				value: body.value,
				expectedVersion: body.expectedVersion,
				saveId: body.saveId,
				savedBy,
			}),
		);
	});

	describeRoute({
		method: 'delete',
		path,
		summary: 'Delete a cursor (start an incremental job over, or clear a damaged value)',
		tags,
		query: deleteCursorQuery,
		response: {
			status: 200,
			description: '{ name, deleted, version }',
			schema: z.object({ name: z.string(), deleted: z.boolean(), version: z.number() }),
		},
		errors: [404, 409],
	});
	router.delete(path, async (req, res) => {
		const name = nameOf(req.params);
		const query = parse(deleteCursorQuery, req.query, 'query');
		const removed = await cursors.remove(name, query.expectedVersion);
		res.json({ ...removed, deleted: true });
	});

	return router;
}
