import type { ResultError } from './schemas';

/** How one failure is treated: retried item-wise (transient) or dead-lettered (permanent). */
export interface Failure {
	transient: boolean;
	errorClass: string;
	message: string;
	httpCode?: number;
	retryAfterMs?: number;
}

const TRANSIENT_STATUS = new Set([408, 425, 429]);
const TRANSIENT_MESSAGE =
	/timed? ?out|timeout|ETIMEDOUT|ECONNRESET|ECONNREFUSED|EPIPE|EAI_AGAIN|socket hang up|connection (reset|refused|closed)|network/i;

export const isTransientStatus = (status: number): boolean =>
	TRANSIENT_STATUS.has(status) || status >= 500;

/** Retry-After in seconds or as an HTTP date, in ms from now; undefined when absent or unreadable. */
export function parseRetryAfter(
	value: string | null | undefined,
	now = Date.now(),
): number | undefined {
	if (!value) return undefined;
	if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1000);
	const at = Date.parse(value);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The answer of a worker webhook to a chunk POST that was not 2xx. */
export function failureOfStatus(status: number, retryAfter: string | null, body: string): Failure {
	const text = body.trim().slice(0, 300);
	return {
		transient: isTransientStatus(status),
		errorClass: `http_${status}`,
		message: `Worker webhook answered HTTP ${status}${text ? `: ${text}` : ''}`,
		httpCode: status,
		retryAfterMs: parseRetryAfter(retryAfter),
	};
}

/** A chunk POST that got no answer: timeouts and connection errors are always transient. */
export function failureOfError(error: unknown, timeoutMs: number): Failure {
	const err = error as {
		name?: string;
		message?: string;
		cause?: { code?: string; message?: string };
	};
	if (err.name === 'TimeoutError') {
		return {
			transient: true,
			errorClass: 'timeout',
			message: `Worker webhook did not answer within ${timeoutMs} ms (timeoutMs)`,
		};
	}
	const code = err.cause?.code;
	const detail = err.cause?.message ?? err.message ?? String(error);
	return {
		transient: true,
		errorClass: 'connection_error',
		message: `Could not reach the worker webhook${code ? ` (${code})` : ''}: ${detail}`,
	};
}

/**
 * A failure recorded through Record Results. Transient when said so, else when the HTTP code is
 * 408/425/429/5xx or the message speaks of a timeout or a broken connection; otherwise permanent.
 */
export function failureOfRecord(error: ResultError | undefined): Failure {
	const message = error?.message || 'failed (no message given)';
	const httpCode = error?.httpCode;
	const byMessage = TRANSIENT_MESSAGE.test(message);
	const transient =
		error?.transient ?? (httpCode !== undefined ? isTransientStatus(httpCode) : byMessage);
	const errorClass =
		error?.class ??
		(httpCode !== undefined
			? `http_${httpCode}`
			: byMessage
				? /time/i.test(message)
					? 'timeout'
					: 'connection_error'
				: 'error');
	return { transient, errorClass, message, httpCode, retryAfterMs: error?.retryAfterMs };
}
