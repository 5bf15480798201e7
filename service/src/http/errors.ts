import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError, type z } from 'zod';

import type { Logger } from '../logger';
import { isRedisUnavailable } from '../redis/retry';
import { allowedMethods } from './openapi';
import { unknownFieldMessage, type KnownFields } from './unknown-fields';

/** An error whose message is meant for the user; status and code travel to the client as-is. */
export class ApiError extends Error {
	constructor(
		readonly status: number,
		readonly code: string,
		message: string,
		readonly details?: unknown,
	) {
		super(message);
	}
}

export const notFound = (what: string): ApiError => new ApiError(404, 'not_found', what);

interface Detail {
	path: string;
	message: string;
	/** How the detail reads on its own in the error message (unknown fields name their path). */
	summary: string;
}

function zodDetails(error: ZodError, where: string, known?: KnownFields): Detail[] {
	return error.issues.flatMap((issue: z.core.$ZodIssue) => {
		if (issue.code === 'unrecognized_keys') {
			// One detail per unknown key, so each is named with its full path.
			return issue.keys.map((key) => {
				const path = [...issue.path, key].join('.');
				const message = unknownFieldMessage(path, key, known?.(issue.path));
				return { path, message, summary: message };
			});
		}
		const path = issue.path.length > 0 ? issue.path.join('.') : where;
		return [{ path, message: issue.message, summary: `${path} ${issue.message}` }];
	});
}

/**
 * 400 naming the first offending field in the message and every one in `details`. `known` gives
 * the fields an object at a path takes, so an unknown field gets a "did you mean" hint.
 */
export function validationError(error: ZodError, where: string, known?: KnownFields): ApiError {
	const details = zodDetails(error, where, known);
	const first = details[0];
	const summary = first ? first.summary : 'invalid input';
	const rest = details.length - 1;
	const more = rest > 0 ? ` (and ${rest} more problem${rest > 1 ? 's' : ''})` : '';
	return new ApiError(
		400,
		'invalid_request',
		`Invalid ${where}: ${summary}${more}`,
		details.map(({ path, message }) => ({ path, message })),
	);
}

/** A known path with another method is 405 (with Allow); anything else is 404. */
export const unknownRoute: RequestHandler = (req, res, next) => {
	const allowed = allowedMethods(req.path);
	if (allowed.length > 0) {
		res.setHeader('Allow', allowed.join(', '));
		next(
			new ApiError(
				405,
				'method_not_allowed',
				`${req.method} is not allowed on ${req.path}; use ${allowed.join(' or ')} (see GET /openapi.json)`,
			),
		);
		return;
	}
	next(
		new ApiError(404, 'unknown_route', `No route ${req.method} ${req.path}; see GET /openapi.json`),
	);
};

/** Errors express, its router and node raise with a 4xx status (e.g. a bad percent-encoding). */
interface HttpLikeError {
	type?: string;
	status?: number;
	statusCode?: number;
	message?: string;
}

/** Client hang-ups are ordinary: logged at info, never as a failure of the service. */
const CLIENT_GONE = new Set(['request_aborted']);

export function errorHandler(logger: Logger): ErrorRequestHandler {
	return (error: unknown, req, res, _next) => {
		const apiError = toApiError(error);
		const where = { method: req.method, path: req.path, status: apiError.status };
		if (apiError.status >= 500 && apiError.status !== 503) {
			logger.error({ ...where, err: error }, 'request failed');
		} else if (apiError.status === 503) {
			logger.warn({ ...where, err: (error as Error).message }, 'request refused: Redis away');
		} else if (CLIENT_GONE.has(apiError.code)) {
			logger.info(where, 'request aborted by the client');
		} else {
			logger.debug({ ...where, code: apiError.code }, 'request refused');
		}
		if (res.headersSent || req.socket.destroyed) {
			req.socket.destroy();
			return;
		}
		res.status(apiError.status).json({
			error: { code: apiError.code, message: apiError.message, details: apiError.details },
		});
	};
}

function toApiError(error: unknown): ApiError {
	if (error instanceof ApiError) return error;
	if (error instanceof ZodError) return validationError(error, 'request');
	const httpError = (error ?? {}) as HttpLikeError;
	const status = httpError.status ?? httpError.statusCode;
	if (
		error instanceof URIError ||
		(status === 400 && /decode param/.test(httpError.message ?? ''))
	) {
		return new ApiError(
			400,
			'invalid_path',
			`The path is not valid percent-encoding (${httpError.message}); encode ids with encodeURIComponent`,
		);
	}
	if (typeof status === 'number' && status >= 400 && status < 500) {
		const name = STATUS_CODES[status] ?? 'Bad Request';
		return new ApiError(
			status,
			name.toLowerCase().replace(/[^a-z]+/g, '_'),
			`${name}: ${httpError.message ?? 'the request was refused'}`,
		);
	}
	if (isRedisUnavailable(error)) {
		return new ApiError(
			503,
			'redis_unavailable',
			'Redis does not answer right now; try again shortly (GET /ready says when it is back)',
		);
	}
	return new ApiError(500, 'internal', 'Internal error; the service log has the details');
}
