import type { ErrorRequestHandler, RequestHandler } from 'express';
import { ZodError } from 'zod';

import type { Logger } from '../logger';

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

export function zodDetails(
	error: ZodError,
	where: string,
): Array<{ path: string; message: string }> {
	return error.issues.map((issue) => ({
		path: issue.path.length > 0 ? issue.path.join('.') : where,
		message: issue.message,
	}));
}

/** 400 naming the first offending field in the message and every one in `details`. */
export function validationError(error: ZodError, where: string): ApiError {
	const details = zodDetails(error, where);
	const first = details[0];
	const summary = first ? `${first.path} ${first.message}` : 'invalid input';
	const more = details.length > 1 ? ` (and ${details.length - 1} more problems)` : '';
	return new ApiError(400, 'invalid_request', `Invalid ${where}: ${summary}${more}`, details);
}

export const unknownRoute: RequestHandler = (req, _res, next) => {
	next(
		new ApiError(404, 'unknown_route', `No route ${req.method} ${req.path}; see GET /openapi.json`),
	);
};

interface BodyParserError {
	type?: string;
	status?: number;
	length?: number;
	limit?: number;
	message?: string;
}

export function errorHandler(logger: Logger): ErrorRequestHandler {
	return (error: unknown, req, res, _next) => {
		const apiError = toApiError(error);
		if (apiError.status >= 500) {
			logger.error({ err: error, method: req.method, path: req.path }, 'request failed');
		}
		res.status(apiError.status).json({
			error: { code: apiError.code, message: apiError.message, details: apiError.details },
		});
	};
}

function toApiError(error: unknown): ApiError {
	if (error instanceof ApiError) return error;
	if (error instanceof ZodError) return validationError(error, 'request');
	const bodyError = error as BodyParserError;
	if (bodyError.type === 'entity.too.large') {
		return new ApiError(
			413,
			'body_too_large',
			`Request body is ${bodyError.length} bytes; the limit is ${bodyError.limit} (MAX_BODY_BYTES). Send items in smaller pages.`,
		);
	}
	if (bodyError.type === 'entity.parse.failed') {
		return new ApiError(
			400,
			'invalid_json',
			`Request body is not valid JSON: ${bodyError.message}`,
		);
	}
	if (bodyError.type === 'encoding.unsupported' || bodyError.type === 'charset.unsupported') {
		return new ApiError(415, 'unsupported_encoding', bodyError.message ?? 'Unsupported encoding');
	}
	return new ApiError(500, 'internal', 'Internal error; the service log has the details');
}
