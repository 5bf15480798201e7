import {
	ERROR_CLASSES,
	httpErrorClass,
	isTransientStatus,
	parseRetryAfter,
	TRANSIENT_MESSAGE,
} from '../../../../nodes/shared/contract';

/** How one failure is treated: retried item-wise (transient) or dead-lettered (permanent). */
export interface Failure {
	transient: boolean;
	errorClass: string;
	message: string;
	httpCode?: number;
	retryAfterMs?: number;
}

/**
 * The answer of a worker webhook to a chunk POST that was not 2xx. A 404 is transient here: n8n
 * answers it while a workflow is not (yet) published, and for a moment at every start; a wrong URL
 * still ends as dead letters of class http_404 once the attempts are spent (and opens the breaker).
 */
export function failureOfStatus(status: number, retryAfter: string | null, body: string): Failure {
	const text = body.trim().slice(0, 300);
	return {
		transient: isTransientStatus(status) || status === 404,
		errorClass: httpErrorClass(status),
		message: `Worker webhook answered HTTP ${status}${text ? `: ${text}` : ''}`,
		httpCode: status,
		retryAfterMs: parseRetryAfter(retryAfter),
	};
}

/** Connection errors that mean the request never reached the worker. */
const NOT_SENT = new Set([
	'ECONNREFUSED',
	'ENOTFOUND',
	'EAI_AGAIN',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'UND_ERR_CONNECT_TIMEOUT',
	'ERR_INVALID_URL',
]);

/**
 * A chunk POST that got no answer. `sent: false` when it surely never reached the worker
 * (refused, unresolvable): a plain transient failure. Otherwise (timeout, reset, hang-up) the
 * worker may have run it: the items stay in doubt under their lease.
 */
export function failureOfError(
	error: unknown,
	timeoutMs: number,
): { failure: Failure; sent: boolean } {
	const err = error as {
		name?: string;
		message?: string;
		cause?: { code?: string; message?: string };
	};
	if (err.name === 'TimeoutError') {
		return {
			sent: true,
			failure: {
				transient: true,
				errorClass: ERROR_CLASSES.timeout,
				message: `Worker webhook did not answer within ${timeoutMs} ms (timeoutMs)`,
			},
		};
	}
	const code = err.cause?.code;
	const detail = err.cause?.message ?? err.message ?? String(error);
	return {
		sent: !(code && NOT_SENT.has(code)),
		failure: {
			transient: true,
			errorClass: ERROR_CLASSES.connectionError,
			message: `Could not reach the worker webhook${code ? ` (${code})` : ''}: ${detail}`,
		},
	};
}

/**
 * A failure recorded through Record Results. Transient when said so, else when the HTTP code is
 * 408/425/429/5xx or the message speaks of a timeout or a broken connection; otherwise permanent.
 */
export function failureOfRecord(
	error:
		| {
				message?: string;
				class?: string;
				httpCode?: number;
				retryAfterMs?: number;
				transient?: boolean;
		  }
		| undefined,
): Failure {
	const message = error?.message || 'failed (no message given)';
	const httpCode = error?.httpCode;
	const byMessage = TRANSIENT_MESSAGE.test(message);
	const transient =
		error?.transient ?? (httpCode !== undefined ? isTransientStatus(httpCode) : byMessage);
	const errorClass =
		error?.class ??
		(httpCode !== undefined
			? httpErrorClass(httpCode)
			: byMessage
				? /time/i.test(message)
					? ERROR_CLASSES.timeout
					: ERROR_CLASSES.connectionError
				: ERROR_CLASSES.error);
	return { transient, errorClass, message, httpCode, retryAfterMs: error?.retryAfterMs };
}
