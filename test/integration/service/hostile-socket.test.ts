import net from 'node:net';

import { loadConfig } from '../../../service/src/config';
import {
	rawExchange,
	send,
	sendJson,
	sleep,
	startHostileService,
	TEST_API_KEY,
	type HostileService,
	type RawAnswer,
} from './hostile-helpers';

/** The answer a raw socket got must be a whole HTTP response carrying the JSON error shape. */
function expectJsonError(answer: RawAnswer, status: number): { code: string; message: string } {
	expect(answer.status).toBe(status);
	expect(answer.head).toMatch(/\r\ncontent-type: application\/json/i);
	const length = Number(/\r\ncontent-length: (\d+)/i.exec(answer.head)?.[1]);
	expect(Buffer.byteLength(answer.body, 'latin1')).toBe(length);
	const { error } = JSON.parse(answer.body) as { error: { code: string; message: string } };
	expect(error.code).toEqual(expect.any(String));
	expect(error.message.length).toBeGreaterThan(0);
	return error;
}

const get = (path: string, extra = '') =>
	`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-api-key: ${TEST_API_KEY}\r\n${extra}\r\n`;

describe('request line and header problems (raw sockets, real service)', () => {
	let service: HostileService;
	beforeAll(async () => {
		service = await startHostileService();
	});
	afterAll(async () => service.close());

	it('answers a 20,000-character URL with 414 and the error shape', async () => {
		const answer = await rawExchange(service.port, [get(`/v1/batches/${'a'.repeat(20_000)}`)]);
		expect(expectJsonError(answer, 414).code).toBe('uri_too_long');
	});

	it('answers headers larger than the server takes with 431', async () => {
		const answer = await rawExchange(service.port, [
			get('/health', `x-big: ${'b'.repeat(20_000)}\r\n`),
		]);
		expect(expectJsonError(answer, 431).code).toBe('headers_too_large');
	});

	it.each([
		[
			'a non-ASCII byte in the path',
			Buffer.from('GET /v1/batches/\xe9t\xe9 HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'),
		],
		[
			'a non-ASCII byte in the method',
			Buffer.from('G\xc9T /health HTTP/1.1\r\nHost: x\r\n\r\n', 'latin1'),
		],
		['a request line of garbage', 'HELLO\r\n\r\n'],
		['a bad HTTP version', 'GET /health HTTP/9.Z\r\nHost: x\r\n\r\n'],
		['a header without a colon', 'GET /health HTTP/1.1\r\nHost x\r\n\r\n'],
		['a space in a header name', 'GET /health HTTP/1.1\r\nHo st: x\r\n\r\n'],
		['a NUL in a header value', 'GET /health HTTP/1.1\r\nHost: x\x00y\r\n\r\n'],
		['a bad content-length', 'POST /v1/batches HTTP/1.1\r\nHost: x\r\ncontent-length: ten\r\n\r\n'],
		[
			'two different content-lengths',
			'POST /v1/batches HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\ncontent-length: 3\r\n\r\n{}',
		],
		[
			'content-length with chunked',
			'POST /v1/batches HTTP/1.1\r\nHost: x\r\ncontent-length: 2\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n',
		],
		[
			'a bad chunk size',
			`POST /v1/limiters/x/acquire HTTP/1.1\r\nHost: x\r\nx-api-key: ${TEST_API_KEY}\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n`,
		],
	])('answers %s with 400 and the error shape', async (_label, raw) => {
		const answer = await rawExchange(service.port, [raw]);
		const error = expectJsonError(answer, 400);
		expect(error.message).toMatch(/malformed|invalid|request/i);
	});

	it('keeps serving after all of that', async () => {
		expect((await send(service.port, 'GET', '/health')).status).toBe(200);
	});
});

describe('HTTP server timeouts and connection cap', () => {
	it('takes its defaults from config and applies them', async () => {
		const defaults = loadConfig({ API_KEY: TEST_API_KEY });
		expect(defaults).toMatchObject({
			HTTP_HEADERS_TIMEOUT_MS: 20_000,
			HTTP_REQUEST_TIMEOUT_MS: 60_000,
			HTTP_KEEP_ALIVE_TIMEOUT_MS: 5_000,
			HTTP_MAX_CONNECTIONS: 1024,
		});
		expect(() => loadConfig({ API_KEY: TEST_API_KEY, HTTP_MAX_CONNECTIONS: '0' })).toThrow(
			/HTTP_MAX_CONNECTIONS/,
		);
		const service = await startHostileService();
		try {
			expect(service.server.headersTimeout).toBe(20_000);
			expect(service.server.requestTimeout).toBe(60_000);
			expect(service.server.keepAliveTimeout).toBe(5_000);
			expect(service.server.maxConnections).toBe(1024);
		} finally {
			await service.close();
		}
	});

	describe('with short timeouts', () => {
		let service: HostileService;
		beforeAll(async () => {
			service = await startHostileService({
				HTTP_HEADERS_TIMEOUT_MS: '1000',
				HTTP_REQUEST_TIMEOUT_MS: '2000',
				HTTP_KEEP_ALIVE_TIMEOUT_MS: '500',
			});
		});
		afterAll(async () => service.close());

		it('cuts off a slowloris client that never finishes its headers, with 408', async () => {
			const dribble = ['GET /health HTTP/1.1\r\n', 'Host: x\r\n'];
			for (let i = 0; i < 40; i++) dribble.push(`x-slow-${i}: 1\r\n`);
			const answer = await rawExchange(service.port, dribble, { gapMs: 150, timeoutMs: 6_000 });
			expect(expectJsonError(answer, 408).code).toBe('request_timeout');
			expect(answer.closedAfterMs).toBeGreaterThanOrEqual(900);
			expect(answer.closedAfterMs).toBeLessThan(3_000);
		});

		it('cuts off a client that sends its body too slowly', async () => {
			const head =
				`POST /v1/batches HTTP/1.1\r\nHost: x\r\nx-api-key: ${TEST_API_KEY}\r\n` +
				'content-type: application/json\r\ncontent-length: 1000\r\n\r\n{';
			const parts = [head, ...Array.from({ length: 60 }, () => ' ')];
			const answer = await rawExchange(service.port, parts, { gapMs: 100, timeoutMs: 8_000 });
			expect(answer.status).toBe(408);
			expect(answer.closedAfterMs).toBeGreaterThanOrEqual(1_900);
			expect(answer.closedAfterMs).toBeLessThan(5_000);
			expect(service.logs.filter((line) => line.level >= 50)).toEqual([]);
		});

		it('closes an idle keep-alive socket after the keep-alive timeout', async () => {
			const socket = net.connect(service.port, '127.0.0.1');
			await new Promise((resolve) => socket.once('connect', resolve));
			const started = Date.now();
			socket.write('GET /health HTTP/1.1\r\nHost: x\r\n\r\n');
			socket.resume();
			await new Promise((resolve) => socket.once('close', resolve));
			expect(Date.now() - started).toBeGreaterThanOrEqual(400);
			expect(Date.now() - started).toBeLessThan(2_500);
		});

		it('still answers a long-poll that outlasts the request timeout', async () => {
			expect((await sendJson(service.port, 'POST', '/v1/batches', { batchKey: 'lp' })).status).toBe(
				201,
			);
			const started = Date.now();
			const answer = await send(service.port, 'GET', '/v1/batches/lp/wait?timeoutMs=3500');
			expect(answer.status).toBe(200);
			expect(answer.body.done).toBe(false);
			expect(Date.now() - started).toBeGreaterThanOrEqual(3_000);
		});

		it('still answers a limiter acquire held longer than the request timeout', async () => {
			const settings = { capacity: 1, refillAmount: 20, refillUnit: 'minute' };
			const first = await sendJson(service.port, 'POST', '/v1/limiters/slow/acquire', {
				maxWaitMs: 0,
				settings,
			});
			expect(first.body.granted).toBe(true);
			const held = await sendJson(service.port, 'POST', '/v1/limiters/slow/acquire', {
				maxWaitMs: 10_000,
			});
			expect(held.status).toBe(200);
			expect(held.body.granted).toBe(true);
			expect(held.body.waitedMs).toBeGreaterThanOrEqual(2_500);
		});
	});

	it('closes connections beyond HTTP_MAX_CONNECTIONS and serves again once one is free', async () => {
		const service = await startHostileService({ HTTP_MAX_CONNECTIONS: '2' });
		const open: net.Socket[] = [];
		try {
			for (let i = 0; i < 2; i++) {
				const socket = net.connect(service.port, '127.0.0.1');
				await new Promise((resolve) => socket.once('connect', resolve));
				open.push(socket);
			}
			await sleep(100);
			const refused = await rawExchange(service.port, ['GET /health HTTP/1.1\r\nHost: x\r\n\r\n'], {
				timeoutMs: 3_000,
			});
			expect(refused.status).toBe(0);
			open.pop()?.destroy();
			await sleep(100);
			expect((await send(service.port, 'GET', '/health')).status).toBe(200);
		} finally {
			for (const socket of open) socket.destroy();
			await service.close();
		}
	});
});
