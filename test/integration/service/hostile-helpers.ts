import http, { type IncomingHttpHeaders, type Server } from 'node:http';
import net from 'node:net';
import type { Express } from 'express';
import pino from 'pino';

import type { Config } from '../../../service/src/config';
import type { ServiceContext } from '../../../service/src/context';
import { listenHttp } from '../../../service/src/http/listen';
import { createTestService, TEST_API_KEY } from '../../harness/service';

export { TEST_API_KEY };

export interface LogLine {
	level: number;
	msg: string;
	[field: string]: unknown;
}

/** The real service app on real Redis behind the real listener, its log lines kept for asserts. */
export interface HostileService {
	ctx: ServiceContext;
	app: Express;
	server: Server;
	port: number;
	logs: LogLine[];
	close(): Promise<void>;
}

export async function startHostileService(
	overrides: Partial<Record<keyof Config, string>> = {},
): Promise<HostileService> {
	const logs: LogLine[] = [];
	const logger = pino(
		{ level: 'debug' },
		{ write: (line: string) => logs.push(JSON.parse(line) as LogLine) },
	);
	const base = createTestService({ PORT: '0', HOST: '127.0.0.1', ...overrides }, { logger });
	const server = await listenHttp(base.app, base.ctx.config, logger);
	const { port } = server.address() as net.AddressInfo;
	return {
		ctx: base.ctx,
		app: base.app,
		server,
		port,
		logs,
		close: async () => {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
			await base.cleanup();
		},
	};
}

export interface Answer {
	status: number;
	headers: IncomingHttpHeaders;
	text: string;
	/** Parsed JSON body, or undefined when the body is not JSON. */
	body: { error?: { code?: string; message?: string; details?: unknown } } & Record<
		string,
		unknown
	>;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });

/**
 * One HTTP request with full control of headers and body bytes (no content type is added unless
 * given). The API key is sent unless `key: null`.
 */
export function send(
	port: number,
	method: string,
	path: string,
	options: {
		headers?: Record<string, string>;
		body?: string | Buffer;
		key?: string | null;
		timeoutMs?: number;
	} = {},
): Promise<Answer> {
	const headers: Record<string, string> = { ...options.headers };
	const key = options.key === undefined ? TEST_API_KEY : options.key;
	if (key !== null) headers['x-api-key'] = key;
	if (options.body !== undefined)
		headers['content-length'] = String(Buffer.byteLength(options.body));
	return new Promise((resolve, reject) => {
		const req = http.request({ host: '127.0.0.1', port, method, path, headers, agent }, (res) => {
			const chunks: Buffer[] = [];
			res.on('data', (chunk: Buffer) => chunks.push(chunk));
			res.on('end', () => {
				const text = Buffer.concat(chunks).toString('utf8');
				let body: Answer['body'] = {};
				try {
					body = JSON.parse(text) as Answer['body'];
				} catch {
					body = {};
				}
				resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body });
			});
			res.on('error', reject);
		});
		req.setTimeout(options.timeoutMs ?? 15_000, () =>
			req.destroy(new Error(`${method} ${path}: no answer in time`)),
		);
		req.on('error', reject);
		req.end(options.body);
	});
}

/** A JSON request with the key. */
export const sendJson = (port: number, method: string, path: string, body: unknown) =>
	send(port, method, path, {
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(body),
	});

/** Asserts the error shape every refusal must have; returns the error for further checks. */
export function expectErrorShape(answer: Answer, status?: number) {
	if (status !== undefined && answer.status !== status) {
		throw new Error(`expected ${status}, got ${answer.status}: ${answer.text.slice(0, 500)}`);
	}
	expect(answer.headers['content-type']).toMatch(/^application\/json/);
	expect(answer.body.error).toEqual(
		expect.objectContaining({ code: expect.any(String), message: expect.any(String) }),
	);
	expect(answer.body.error?.message?.length).toBeGreaterThan(0);
	return answer.body.error as { code: string; message: string; details?: unknown };
}

export interface RawAnswer {
	status: number;
	head: string;
	body: string;
	/** Milliseconds from the first byte written until the server closed the socket. */
	closedAfterMs: number;
}

/**
 * Writes `parts` to a raw socket (each after `gapMs`) and resolves once the server closes the
 * socket, with what it sent back. Fails after `timeoutMs` if the server never closes it.
 */
export function rawExchange(
	port: number,
	parts: Array<string | Buffer>,
	options: { gapMs?: number; timeoutMs?: number } = {},
): Promise<RawAnswer> {
	return new Promise((resolve, reject) => {
		const socket = net.connect(port, '127.0.0.1');
		const chunks: Buffer[] = [];
		const started = Date.now();
		let timer: NodeJS.Timeout | undefined;
		const deadline = setTimeout(() => {
			socket.destroy();
			reject(new Error(`the server kept the socket open for ${options.timeoutMs ?? 10_000} ms`));
		}, options.timeoutMs ?? 10_000);
		socket.on('data', (chunk: Buffer) => chunks.push(chunk));
		socket.on('error', () => undefined);
		socket.on('close', () => {
			clearTimeout(deadline);
			clearTimeout(timer);
			const raw = Buffer.concat(chunks).toString('latin1');
			const split = raw.indexOf('\r\n\r\n');
			const head = split < 0 ? raw : raw.slice(0, split);
			resolve({
				status: Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0),
				head,
				body: split < 0 ? '' : raw.slice(split + 4),
				closedAfterMs: Date.now() - started,
			});
		});
		let next = 0;
		const writeNext = () => {
			if (socket.destroyed || next >= parts.length) return;
			socket.write(parts[next++]);
			timer = setTimeout(writeNext, options.gapMs ?? 0);
		};
		socket.once('connect', writeNext);
	});
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
