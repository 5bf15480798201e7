import { createServer, STATUS_CODES, type Server, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Express } from 'express';

import type { Config } from '../config';
import type { Logger } from '../logger';

/**
 * Creates the HTTP server and listens. Slow clients are bounded (headers within
 * HTTP_HEADERS_TIMEOUT_MS, the whole request within HTTP_REQUEST_TIMEOUT_MS; answers such as
 * long-polls may take longer), idle keep-alive sockets close after HTTP_KEEP_ALIVE_TIMEOUT_MS,
 * at most HTTP_MAX_CONNECTIONS sockets are open, and requests node cannot parse get a JSON error.
 */
export function listenHttp(app: Express, config: Config, logger: Logger): Promise<Server> {
	const requestTimeout = config.HTTP_REQUEST_TIMEOUT_MS;
	// Headers are part of the request: their bound never exceeds the request's.
	const headersTimeout = Math.min(config.HTTP_HEADERS_TIMEOUT_MS, requestTimeout);
	const server = createServer(
		{
			headersTimeout,
			requestTimeout,
			// Node checks both bounds on this tick (30 s by default, longer than the bounds themselves).
			connectionsCheckingInterval: Math.max(50, Math.min(1_000, headersTimeout / 4)),
		},
		app,
	);
	server.keepAliveTimeout = config.HTTP_KEEP_ALIVE_TIMEOUT_MS;
	server.maxConnections = config.HTTP_MAX_CONNECTIONS;
	server.on('clientError', answerClientError(logger, config));
	let lastDropLog = 0;
	server.on('drop', () => {
		// At most one line a second: a flood must not become a flood of log lines.
		if (Date.now() - lastDropLog < 1_000) return;
		lastDropLog = Date.now();
		logger.warn(
			{ maxConnections: config.HTTP_MAX_CONNECTIONS },
			'connection refused: HTTP_MAX_CONNECTIONS reached',
		);
	});
	return new Promise((resolve, reject) => {
		server.once('error', reject);
		server.listen(config.PORT, config.HOST, () => {
			server.off('error', reject);
			resolve(server);
		});
	});
}

interface ClientError extends Error {
	code?: string;
	reason?: string;
	rawPacket?: Buffer;
}

interface Refusal {
	status: number;
	code: string;
	message: string;
}

/** Request-line and header lengths above this are a long URL (414) rather than many headers (431). */
const LONG_REQUEST_LINE = 8 * 1024;

/** Node found the request malformed or too slow before express saw it: answer in our shape. */
function answerClientError(logger: Logger, config: Config) {
	return (error: ClientError, socket: Duplex): void => {
		const pending = (socket as Duplex & { _httpMessage?: ServerResponse })._httpMessage;
		if (error.code === 'ECONNRESET' || !socket.writable || pending?.headersSent) {
			socket.destroy();
			return;
		}
		const refusal = refusalFor(error, config);
		logger.info({ code: error.code, status: refusal.status }, 'malformed request refused');
		const body = JSON.stringify({ error: { code: refusal.code, message: refusal.message } });
		socket.end(
			`HTTP/1.1 ${refusal.status} ${STATUS_CODES[refusal.status]}\r\n` +
				'Content-Type: application/json; charset=utf-8\r\n' +
				`Content-Length: ${Buffer.byteLength(body)}\r\n` +
				'Connection: close\r\n\r\n' +
				body,
		);
		// A client that does not read its answer must not keep the socket.
		setTimeout(() => socket.destroy(), 1_000).unref();
	};
}

function refusalFor(error: ClientError, config: Config): Refusal {
	switch (error.code) {
		case 'HPE_HEADER_OVERFLOW': {
			const lineEnd = error.rawPacket?.indexOf('\r\n') ?? -1;
			if (lineEnd < 0 || lineEnd > LONG_REQUEST_LINE) {
				return {
					status: 414,
					code: 'uri_too_long',
					message:
						'The URL is too long; ids are at most 128 characters and every other input goes in the JSON body',
				};
			}
			return {
				status: 431,
				code: 'headers_too_large',
				message: 'The request headers are too large (16 KB at most); send fewer or shorter headers',
			};
		}
		case 'ERR_HTTP_REQUEST_TIMEOUT':
			return {
				status: 408,
				code: 'request_timeout',
				message: `The request was not received in time (headers within ${config.HTTP_HEADERS_TIMEOUT_MS} ms, the whole request within ${config.HTTP_REQUEST_TIMEOUT_MS} ms); send it again`,
			};
		default:
			return {
				status: 400,
				code: 'malformed_request',
				message: `Malformed HTTP request: ${describeParseError(error)} (${error.code ?? 'parse error'}); send a valid HTTP/1.1 request`,
			};
	}
}

/** llhttp's reason says what was wrong; a few problems also get what to do. */
const ADVICE: Record<string, string> = {
	HPE_INVALID_URL: 'percent-encode characters outside printable ASCII',
	HPE_INVALID_HEADER_TOKEN: 'header names are tokens, values printable text',
};

function describeParseError(error: ClientError): string {
	const reason = error.reason ?? error.message.replace(/^Parse Error: /, '');
	const advice = error.code ? ADVICE[error.code] : undefined;
	return advice ? `${reason}; ${advice}` : reason;
}
