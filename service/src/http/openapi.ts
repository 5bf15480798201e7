import { Router } from 'express';
import { z } from 'zod';

type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Operation {
	method: Method;
	/** Express-style path, e.g. /v1/batches/:batchId (turned into {batchId}). */
	path: string;
	summary: string;
	tags: string[];
	body?: z.ZodType;
	query?: z.ZodObject;
	/** Success response: status and zod schema (or a plain description). */
	response: { status: number; description: string; schema?: z.ZodType };
	errors?: number[];
}

const operations: Operation[] = [];

/** Routers describe each route here, next to the zod schemas that validate it. */
export function describeRoute(operation: Operation): void {
	if (!operations.some((o) => o.method === operation.method && o.path === operation.path)) {
		operations.push(operation);
	}
}

const errorSchema = {
	type: 'object',
	properties: {
		error: {
			type: 'object',
			properties: {
				code: { type: 'string' },
				message: { type: 'string', description: 'What was wrong and what to do' },
				details: { type: 'array', items: { type: 'object' } },
			},
			required: ['code', 'message'],
		},
	},
};

const ERROR_TEXT: Record<number, string> = {
	400: 'Invalid input; the message names the field',
	401: 'Missing or invalid API key',
	404: 'No such resource',
	409: 'The resource is in a state that does not allow this',
	413: 'Body larger than MAX_BODY_BYTES',
	415: 'Body not application/json (UTF-8), or a content-encoding other than gzip, deflate, br',
	503: 'Redis unreachable',
};

const jsonSchema = (schema: z.ZodType): unknown =>
	z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });

/** Methods of the described routes whose path pattern matches `path` (for 405 answers). */
export function allowedMethods(path: string): string[] {
	const methods = operations
		.filter((op) => patternOf(op.path).test(path))
		.map((op) => op.method.toUpperCase());
	return [...new Set(methods)];
}

const patterns = new Map<string, RegExp>();
function patternOf(routePath: string): RegExp {
	let pattern = patterns.get(routePath);
	if (!pattern) {
		const escaped = routePath
			.split(/:[A-Za-z]+/)
			.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
			.join('[^/]+');
		patterns.set(routePath, (pattern = new RegExp(`^${escaped}/?$`)));
	}
	return pattern;
}

export function openApiDocument(): Record<string, unknown> {
	const paths: Record<string, Record<string, unknown>> = {};
	for (const op of operations) {
		const path = op.path.replace(/:([A-Za-z]+)/g, '{$1}');
		const pathParams = [...op.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({
			name: m[1],
			in: 'path',
			required: true,
			schema: { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$' },
		}));
		const queryParams = op.query
			? Object.entries(op.query.shape).map(([name, schema]) => ({
					name,
					in: 'query',
					required: !(schema as z.ZodType).safeParse(undefined).success,
					schema: jsonSchema(schema as z.ZodType),
				}))
			: [];
		const responses: Record<string, unknown> = {
			[op.response.status]: {
				description: op.response.description,
				...(op.response.schema
					? { content: { 'application/json': { schema: jsonSchema(op.response.schema) } } }
					: {}),
			},
		};
		const bodyErrors = ['post', 'put', 'patch'].includes(op.method) ? [413, 415] : [];
		for (const status of [400, 401, ...bodyErrors, ...(op.errors ?? [])]) {
			responses[status] = {
				description: ERROR_TEXT[status] ?? 'Error',
				content: { 'application/json': { schema: errorSchema } },
			};
		}
		paths[path] ??= {};
		paths[path][op.method] = {
			summary: op.summary,
			tags: op.tags,
			parameters: [...pathParams, ...queryParams],
			...(op.body
				? {
						requestBody: {
							required: true,
							content: { 'application/json': { schema: jsonSchema(op.body) } },
						},
					}
				: {}),
			responses,
		};
	}
	return {
		openapi: '3.1.0',
		info: {
			title: 'Batch Guardian companion service',
			version: '1',
			description: 'Durable batches, checkpoints and rate limiters for n8n, kept in Redis.',
		},
		components: {
			securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key' } },
		},
		security: [{ apiKey: [] }],
		paths,
	};
}

export function openApiRouter(): Router {
	const router = Router();
	router.get('/openapi.json', (_req, res) => {
		res.json(openApiDocument());
	});
	return router;
}
