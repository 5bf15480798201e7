import net from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';

import { MAX_JSON_DEPTH } from '../../../nodes/shared/contract';
import {
	expectErrorShape,
	send,
	sendJson,
	sleep,
	startHostileService,
	TEST_API_KEY,
	type HostileService,
} from './hostile-helpers';

const limiter = { capacity: 10, refillAmount: 1, refillUnit: 'hour' };
const nested = (depth: number, leaf: unknown = 1): string =>
	'{"a":'.repeat(depth) + JSON.stringify(leaf) + '}'.repeat(depth);

describe('hostile request bodies (real service, real Redis)', () => {
	let service: HostileService;
	let port: number;
	beforeAll(async () => {
		service = await startHostileService({ MAX_BODY_BYTES: String(4 * 1024 * 1024) });
		port = service.port;
		await sendJson(port, 'PUT', '/v1/limiters/lim', limiter);
		expect((await sendJson(port, 'POST', '/v1/batches', { batchKey: 'b1' })).status).toBe(201);
	});
	afterAll(async () => service.close());

	const limiterState = async () => (await send(port, 'GET', '/v1/limiters/lim')).body;

	describe('content type', () => {
		const notJson: Array<[string, Record<string, string>, string]> = [
			['text/plain', { 'content-type': 'text/plain' }, '{"cost":1}'],
			['a form', { 'content-type': 'application/x-www-form-urlencoded' }, 'cost=1'],
			['XML', { 'content-type': 'application/xml' }, '<cost>1</cost>'],
			['no content type', {}, '{"cost":1}'],
			['JSON in latin1', { 'content-type': 'application/json; charset=latin1' }, '{"cost":1}'],
			['a malformed content type', { 'content-type': 'application/json; ;;=' }, '{"cost":1}'],
		];
		const routes: Array<[string, string]> = [
			['POST', '/v1/limiters/lim/acquire'],
			['POST', '/v1/limiters/lim/take'],
			['POST', '/v1/limiters/lim/throttle'],
			['PUT', '/v1/limiters/lim'],
			['POST', '/v1/batches'],
			['POST', '/v1/batches/b1/items'],
			['POST', '/v1/batches/b1/pause'],
			['POST', '/v1/batches/b1/dead-letters/retry'],
			['PATCH', '/v1/batches/b1'],
		];
		it.each(routes)('%s %s refuses every body that is not JSON with 415', async (method, path) => {
			for (const [label, headers, body] of notJson) {
				const answer = await send(port, method, path, { headers, body });
				const error = expectErrorShape(answer, 415);
				expect([label, error.code]).toEqual([label, 'unsupported_media_type']);
				expect(error.message).toContain('application/json');
			}
		});

		it('takes no token, pauses nothing and replays nothing for a body that is not JSON', async () => {
			const before = await limiterState();
			await send(port, 'POST', '/v1/limiters/lim/acquire', {
				headers: { 'content-type': 'text/plain' },
				body: 'hello',
			});
			await send(port, 'POST', '/v1/limiters/lim/throttle', {
				headers: { 'content-type': 'application/x-www-form-urlencoded' },
				body: 'retryAfterMs=60000',
			});
			const after = await limiterState();
			expect(after.grantedTokens).toBe(before.grantedTokens);
			expect(after.state).toBe('ok');
			expect(after.throttles).toBe(0);
		});

		it('accepts application/json with charset utf-8 or none', async () => {
			for (const type of [
				'application/json',
				'application/json; charset=utf-8',
				'Application/JSON;charset=UTF-8',
			]) {
				const answer = await send(port, 'POST', '/v1/limiters/lim/acquire', {
					headers: { 'content-type': type },
					body: '{"cost":1,"maxWaitMs":0}',
				});
				expect([type, answer.status]).toEqual([type, 200]);
			}
		});

		it('accepts an empty body where the body is optional, whatever the content type', async () => {
			expect((await sendJson(port, 'POST', '/v1/batches', { batchKey: 'b-empty' })).status).toBe(
				201,
			);
			const answers = [
				await send(port, 'POST', '/v1/batches/b-empty/pause'),
				await send(port, 'POST', '/v1/batches/b-empty/resume', {
					headers: { 'content-type': 'text/plain' },
					body: '',
				}),
				await send(port, 'POST', '/v1/batches/b-empty/dead-letters/retry'),
				await send(port, 'POST', '/v1/batches/b-empty/cancel'),
			];
			// The handlers ran (the engine may still say 409 for the batch's state): no 400, no 415.
			for (const answer of answers) {
				expect(answer.status === 200 || answer.status === 409).toBe(true);
			}
			const sealed = await send(port, 'POST', '/v1/batches/b1/seal');
			expect(sealed.status).toBe(200);
			expect(sealed.body.sealed).toBe(true);
		});

		it.each([
			['/v1/limiters/lim/acquire', 'POST'],
			['/v1/limiters/lim/take', 'POST'],
			['/v1/limiters/lim/throttle', 'POST'],
			['/v1/limiters/lim', 'PUT'],
		])('%s needs a JSON object body', async (path, method) => {
			const error = expectErrorShape(await send(port, method, path), 400);
			expect(error.code).toBe('body_required');
			expect(error.message).toMatch(/JSON object/);
		});

		it('takes {} as the defaults on acquire and throttle', async () => {
			const acquire = await sendJson(port, 'POST', '/v1/limiters/lim/acquire', {});
			expect(acquire.status).toBe(200);
			const throttle = await sendJson(port, 'POST', '/v1/limiters/lim/throttle', {});
			expect(throttle.status).toBe(200);
			expect(throttle.body.throttles).toBe(1);
		});

		it.each([['[]'], ['[{"cost":1}]'], ['"text"'], ['42'], ['null'], ['true']])(
			'refuses the top-level JSON value %s: bodies are objects',
			async (body) => {
				const answer = await send(port, 'POST', '/v1/limiters/lim/acquire', {
					headers: { 'content-type': 'application/json' },
					body,
				});
				expect(expectErrorShape(answer, 400).message).toMatch(/JSON object/);
			},
		);
	});

	describe('nesting depth', () => {
		it.each([
			[5_000, nested(5_000)],
			[1_000_000, `{"l":${'['.repeat(1_000_000)}${']'.repeat(1_000_000)}}`],
		])(
			'refuses item json nested %i levels with 400 json_too_deep, quickly',
			async (_depth, json) => {
				const body = `{"items":[{"key":"deep","json":${json}}]}`;
				const started = Date.now();
				const answer = await send(port, 'POST', '/v1/batches/b2/items', {
					headers: { 'content-type': 'application/json' },
					body,
				});
				const error = expectErrorShape(answer, 400);
				expect(error.code).toBe('json_too_deep');
				expect(error.message).toContain(String(MAX_JSON_DEPTH));
				expect(Date.now() - started).toBeLessThan(3_000);
			},
		);

		it('refuses meta nested 5,000 levels on create, and arrays as well as objects', async () => {
			const meta = await send(port, 'POST', '/v1/batches', {
				headers: { 'content-type': 'application/json' },
				body: `{"batchKey":"deep-meta","meta":${nested(5_000)}}`,
			});
			expect(expectErrorShape(meta, 400).code).toBe('json_too_deep');
			const arrays = await send(port, 'POST', '/v1/limiters/lim/take', {
				headers: { 'content-type': 'application/json' },
				body: `{"costs":${'['.repeat(100_000)}1${']'.repeat(100_000)}}`,
			});
			expect(expectErrorShape(arrays, 400).code).toBe('json_too_deep');
		});

		it('accepts item json nested exactly MAX_JSON_DEPTH levels, and brackets inside strings', async () => {
			expect((await sendJson(port, 'POST', '/v1/batches', { batchKey: 'b2' })).status).toBe(201);
			const answer = await send(port, 'POST', '/v1/batches/b2/items', {
				headers: { 'content-type': 'application/json' },
				body: `{"items":[{"key":"at-limit","json":${nested(MAX_JSON_DEPTH)}},{"key":"str","json":{"s":${JSON.stringify('[{'.repeat(50_000) + '\\"')}}}]}`,
			});
			expect(answer.status).toBe(200);
			expect(answer.body.accepted).toBe(2);
			const deeper = await send(port, 'POST', '/v1/batches/b2/items', {
				headers: { 'content-type': 'application/json' },
				body: `{"items":[{"key":"over","json":${nested(MAX_JSON_DEPTH + 1)}}]}`,
			});
			expect(expectErrorShape(deeper, 400).code).toBe('json_too_deep');
		});
	});

	describe('__proto__ and other special keys', () => {
		it('refuses a __proto__ key in item json, naming its path', async () => {
			const items = [0, 1, 2, 3].map((i) => `{"key":"p${i}","json":{"a":{"b":${i}}}}`);
			items[3] = '{"key":"p3","json":{"a":{"__proto__":{"polluted":true}}}}';
			const answer = await send(port, 'POST', '/v1/batches/b1/items', {
				headers: { 'content-type': 'application/json' },
				body: `{"items":[${items.join(',')}]}`,
			});
			const error = expectErrorShape(answer, 400);
			expect(error.code).toBe('forbidden_key');
			expect(error.message).toContain('items.3.json.a.__proto__');
			expect(({} as Record<string, unknown>).polluted).toBeUndefined();
		});

		it.each([
			[
				'meta on create',
				'POST',
				'/v1/batches',
				'{"batchKey":"p","meta":{"__proto__":{}}}',
				'meta.__proto__',
			],
			[
				'a limiter body',
				'POST',
				'/v1/limiters/lim/acquire',
				'{"__proto__":{"cost":5}}',
				'__proto__',
			],
			['an escaped key', 'PUT', '/v1/limiters/lim', '{"\\u005f_proto__":{}}', '__proto__'],
			[
				'a key in a list',
				'POST',
				'/v1/batches/b1/items',
				'{"items":[{"key":"x","json":{"l":[1,{"__proto__":1}]}}]}',
				'items.0.json.l.1.__proto__',
			],
		])('refuses __proto__ in %s', async (_label, method, path, body, where) => {
			const answer = await send(port, method, path, {
				headers: { 'content-type': 'application/json' },
				body,
			});
			const error = expectErrorShape(answer, 400);
			expect(error.code).toBe('forbidden_key');
			expect(error.message).toContain(`'${where}'`);
		});

		it('keeps constructor and prototype keys exactly as sent', async () => {
			const meta = { constructor: { name: 'x' }, prototype: 'p', toString: 1 };
			const created = await sendJson(port, 'POST', '/v1/batches', { batchKey: 'ctor', meta });
			expect(created.status).toBe(201);
			const read = await send(port, 'GET', '/v1/batches/ctor');
			expect(read.body.meta).toEqual(meta);
		});
	});

	describe('content encoding', () => {
		const plain = '{"cost":1,"maxWaitMs":0}';
		it.each([['gzip'], ['deflate'], ['br'], ['x-gzip']])(
			'answers 400 for content-encoding %s on a body that is not compressed',
			async (encoding) => {
				const answer = await send(port, 'POST', '/v1/limiters/lim/acquire', {
					headers: { 'content-type': 'application/json', 'content-encoding': encoding },
					body: plain,
				});
				const error = expectErrorShape(answer, 400);
				expect(error.code).toBe('undecodable_body');
				expect(error.message).toMatch(/could not be decoded/);
			},
		);

		it.each([
			['gzip', gzipSync],
			['deflate', deflateSync],
			['br', brotliCompressSync],
		] as const)('reads a real %s body', async (encoding, compress) => {
			const answer = await send(port, 'POST', '/v1/limiters/lim/acquire', {
				headers: { 'content-type': 'application/json', 'content-encoding': encoding },
				body: compress(Buffer.from(plain)),
			});
			expect(answer.status).toBe(200);
			expect(answer.body.granted).toEqual(expect.any(Boolean));
		});

		it('refuses unknown encodings with 415', async () => {
			for (const encoding of ['compress', 'zstd', 'gzip, br']) {
				const answer = await send(port, 'POST', '/v1/limiters/lim/acquire', {
					headers: { 'content-type': 'application/json', 'content-encoding': encoding },
					body: plain,
				});
				expect(expectErrorShape(answer, 415).code).toBe('unsupported_encoding');
			}
		});

		it('bounds the decompressed size by MAX_BODY_BYTES', async () => {
			const huge = JSON.stringify({ batchKey: 'bomb', meta: { s: 'a'.repeat(8 * 1024 * 1024) } });
			const packed = gzipSync(huge);
			expect(packed.length).toBeLessThan(100_000);
			const answer = await send(port, 'POST', '/v1/batches', {
				headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
				body: packed,
			});
			expect(expectErrorShape(answer, 413).code).toBe('body_too_large');
		});
	});

	describe('paths and aborted bodies', () => {
		it.each([
			['GET', '/v1/batches/%E0%A4%A'],
			['POST', '/v1/batches/%E0%A4%A/seal'],
			['GET', '/v1/limiters/%ZZ'],
			['POST', '/v1/limiters/%ZZ/acquire'],
		])('%s %s answers 400 with the error shape', async (method, path) => {
			const answer = await send(port, method, path, {
				headers: { 'content-type': 'application/json' },
				body: method === 'POST' ? '{}' : undefined,
			});
			const error = expectErrorShape(answer, 400);
			expect(error.code).toBe('invalid_path');
			expect(error.message).toMatch(/percent-encod/);
		});

		it('logs a body the client abandons at info, never as a 500 error', async () => {
			const socket = net.connect(port, '127.0.0.1');
			await new Promise((resolve) => socket.once('connect', resolve));
			socket.write(
				`POST /v1/batches HTTP/1.1\r\nHost: x\r\nx-api-key: ${TEST_API_KEY}\r\n` +
					'content-type: application/json\r\ncontent-length: 100000\r\n\r\n{"batchKey":"abandoned",',
			);
			await sleep(300);
			socket.destroy();
			await sleep(500);
			expect(service.logs.filter((line) => line.level >= 50)).toEqual([]);
			const aborted = service.logs.find((line) => line.msg === 'request aborted by the client');
			expect(aborted).toMatchObject({ level: 30, method: 'POST', path: '/v1/batches' });
			expect((await send(port, 'GET', '/health')).status).toBe(200);
		});
	});
});
