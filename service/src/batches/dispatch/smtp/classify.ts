/**
 * What an SMTP send's outcome means for its item. Pure, so every rule is tested on its own.
 *
 * - A reply to MAIL FROM, RCPT TO or DATA is about the message: 4xx transient (retried with
 *   backoff), 5xx permanent (dead-lettered as `smtp_<code>` with the relay's words). Bad mailbox
 *   or domain (5.1.1 and the like) also suppresses the address for later batches.
 * - A failure to connect, greet, start TLS or log in is about the transport: nothing was sent,
 *   so the item is retried (and the circuit breaker counts it).
 * - A connection lost or timed out without a reply during the transaction: the relay may have
 *   taken the message. Nobody can tell, so the item is left in doubt (its batch's policy decides).
 */

export type SendOutcome =
	| { kind: 'sent' }
	| {
			kind: 'failed';
			transient: boolean;
			errorClass: string;
			message: string;
			code?: number;
			enhancedCode?: string;
			/** The relay said the address does not exist (or cannot take mail): suppress it. */
			suppress: boolean;
	  }
	| { kind: 'in_doubt'; message: string };

/** The fields of a nodemailer error this looks at. */
export interface SmtpErrorLike {
	message?: string;
	code?: string;
	responseCode?: number;
	response?: string;
	command?: string;
	originalCode?: string;
	timeoutType?: string;
}

/** Enhanced status codes (RFC 3463) that say the address is bad, not the message. */
const SUPPRESSING = new Set(['5.1.1', '5.1.2', '5.1.3', '5.1.6', '5.1.10', '5.2.1']);
/** Commands whose reply is about the message or its recipient. */
const TRANSACTION = new Set(['MAIL FROM', 'RCPT TO', 'DATA']);
/** Timeouts of connection setup: no transaction had begun. */
const SETUP_TIMEOUTS = new Set([
	'CONNECT_TIMEOUT',
	'GREETING_TIMEOUT',
	'UPGRADE_TIMEOUT',
	'DNS_TIMEOUT',
]);
/** Errors raised before any command of a transaction was written. */
const SETUP_CODES = new Set(['EDNS', 'ETLS', 'EAUTH', 'ENOAUTH', 'EOAUTH2', 'EPROXY']);
/** System errors of a connect() that never connected. */
const UNREACHED = new Set([
	'ECONNREFUSED',
	'EHOSTUNREACH',
	'ENETUNREACH',
	'ENOTFOUND',
	'EAI_AGAIN',
]);
/** Errors without a reply: nodemailer refused the message before (or instead of) sending it. */
const REFUSED_LOCALLY = new Set(['EENVELOPE', 'EMESSAGE', 'ESTREAM']);
/** nodemailer's pool gives a message up this way only when none of it was sent. */
const NOT_SENT =
	/^(Reached maximum number of retries after connection was closed|Connection pool was closed)/;

/** `550 5.1.1 No such user` -> '5.1.1' (also `550-5.1.1 ...` of a multi-line reply). */
export function enhancedCodeOf(reply: string): string | undefined {
	return /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(reply.trim())?.[1];
}

export function classifySmtpError(error: SmtpErrorLike): SendOutcome {
	const reply = (error.response ?? '').trim();
	const code = error.responseCode;
	if (code && code >= 400 && code < 600 && TRANSACTION.has(error.command ?? '')) {
		const enhancedCode = enhancedCodeOf(reply);
		// 421 closes the session whatever it answered; 503 (bad sequence) is ours, not the message's.
		const transient = code < 500 || code === 503;
		return {
			kind: 'failed',
			transient,
			errorClass: `smtp_${code}`,
			message: reply || (error.message ?? `SMTP ${code}`),
			code,
			enhancedCode,
			suppress:
				!transient &&
				error.command !== 'MAIL FROM' &&
				enhancedCode !== undefined &&
				SUPPRESSING.has(enhancedCode),
		};
	}
	if (!code && REFUSED_LOCALLY.has(error.code ?? '')) {
		// nodemailer refused the message itself (too large for the relay, unreadable content).
		return {
			kind: 'failed',
			transient: false,
			errorClass: 'invalid_message',
			message: `the message could not be sent as composed: ${error.message ?? error.code}`,
			suppress: false,
		};
	}
	if (beforeTransaction(error)) {
		const auth = error.code === 'EAUTH' || error.code === 'ENOAUTH';
		return {
			kind: 'failed',
			transient: true,
			errorClass: auth ? 'smtp_auth' : code ? `smtp_${code}` : 'smtp_connection',
			message: auth
				? `the relay refused the transport's login (${reply || error.message}): fix the user and password in its SMTP_TRANSPORT_<NAME>`
				: `could not open an SMTP session: ${reply || error.message || error.code}`,
			code: code || undefined,
			suppress: false,
		};
	}
	return {
		kind: 'in_doubt',
		message: `the connection failed during the SMTP transaction (${error.code ?? 'error'}: ${error.message ?? ''}); the relay may have taken the message`,
	};
}

function beforeTransaction(error: SmtpErrorLike): boolean {
	if (error.responseCode) return !TRANSACTION.has(error.command ?? '');
	if (SETUP_CODES.has(error.code ?? '')) return true;
	if (error.code === 'ETIMEDOUT') return SETUP_TIMEOUTS.has(error.timeoutType ?? '');
	if (UNREACHED.has(error.originalCode ?? '')) return true;
	if (error.command === 'EHLO' || error.command === 'HELO' || error.command === 'STARTTLS') {
		return true;
	}
	return NOT_SENT.test(error.message ?? '');
}
