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

/**
 * n8n's Send Email keeps only nodemailer's message on a failed item, which ends with the relay's
 * reply: "Can't send mail - all recipients were rejected: 451 4.3.0 Try again later". Read only
 * where the reply follows a colon and carries an enhanced status code or speaks of mail.
 */
const SMTP_REPLY = /: ([45]\d\d)(?:[ -]([245]\.\d{1,3}\.\d{1,3})\b)?/;
const SMTP_WORDS = /mail|recipient|sender|command|greeting|login|smtp/i;

/** An SMTP reply code in a failure message: 4xx is transient (greylisting, throttling), 5xx not. */
function smtpFailure(message: string): Pick<ResultError, 'class' | 'transient'> | undefined {
	const reply = SMTP_REPLY.exec(message);
	if (!reply || (!reply[2] && !SMTP_WORDS.test(message))) return undefined;
	const code = Number(reply[1]);
	return { class: `smtp_${code}`, transient: code < 500 };
}

/** Retry-After is seconds or an HTTP date; both become milliseconds from now. */
function retryAfterMs(headers: IDataObject | undefined): number | undefined {
	return parseRetryAfter(headers?.['retry-after'] ?? headers?.['Retry-After']);
}

/**
 * Reads failure info from the shapes n8n gives a failed item: `{ error: 'text' }` from Continue
 * On Fail, or `{ error: {message, httpCode|status, description, response}, details }` from an
 * error output (HTTP Request 4.x); an SMTP reply code in the message (Send Email) gives the class
 * and whether it is transient. Undefined when the item carries no error.
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
	} else {
		Object.assign(failure, smtpFailure(failure.message));
	}
	const wait = retryAfterMs(asObject(response?.headers));
	if (wait !== undefined) failure.retryAfterMs = wait;
	return failure;
}
