import type { IDataObject } from 'n8n-workflow';

import { httpErrorClass, parseRetryAfter } from '../../../shared/contract';

/** What Record Results sends for a failed item (service/API.md, Record Results). */
export interface ResultError extends IDataObject {
	message: string;
	class?: string;
	httpCode?: number;
	retryAfterMs?: number;
	transient?: boolean;
}

const MAX_MESSAGE = 1000;

const asObject = (value: unknown): IDataObject | undefined =>
	value !== null && typeof value === 'object' && !Array.isArray(value)
		? (value as IDataObject)
		: undefined;

function statusCode(...candidates: unknown[]): number | undefined {
	for (const candidate of candidates) {
		const code = typeof candidate === 'string' ? Number(candidate) : candidate;
		if (typeof code === 'number' && Number.isInteger(code) && code >= 100 && code <= 599) {
			return code;
		}
	}
	return undefined;
}

/** Retry-After is seconds or an HTTP date; both become milliseconds from now. */
function retryAfterMs(headers: IDataObject | undefined): number | undefined {
	return parseRetryAfter(headers?.['retry-after'] ?? headers?.['Retry-After']);
}

/**
 * Reads failure info from the shapes n8n gives a failed item: `{ error: 'text' }` from Continue
 * On Fail, or `{ error: {message, httpCode|status, description, response}, details }` from an
 * error output (HTTP Request 4.x). Undefined when the item carries no error.
 */
export function failureOf(json: IDataObject): ResultError | undefined {
	const raw = json.error;
	if (raw === undefined || raw === null || raw === false || raw === '') return undefined;
	const error = asObject(raw);
	const details = asObject(json.details) ?? {};
	const response = asObject(error?.response);
	let message =
		typeof raw === 'string'
			? raw
			: String(error?.message ?? details.message ?? JSON.stringify(raw).slice(0, MAX_MESSAGE));
	const description = error?.description ?? details.description;
	if (typeof description === 'string' && description && !message.includes(description)) {
		message = `${message}: ${description}`;
	}
	const failure: ResultError = { message: message.slice(0, MAX_MESSAGE) || 'Unknown error' };
	const httpCode = statusCode(
		error?.httpCode,
		details.httpCode,
		error?.statusCode,
		error?.status,
		response?.status,
		response?.statusCode,
	);
	if (httpCode !== undefined) {
		failure.httpCode = httpCode;
		failure.class = httpErrorClass(httpCode);
	}
	const wait = retryAfterMs(asObject(response?.headers));
	if (wait !== undefined) failure.retryAfterMs = wait;
	return failure;
}
