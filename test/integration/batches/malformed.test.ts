import request from 'supertest';

import { createTestService, type TestService } from '../../harness/service';
import { api, items, snapshotBatch } from './helpers';

type Case = [
	label: string,
	method: 'get' | 'post' | 'patch',
	path: string,
	body: unknown,
	status: number,
	mentions: RegExp,
];

const B = '/v1/batches/b-mal';
const CASES: Case[] = [
	['create without batchKey', 'post', '/v1/batches', { chunkSize: 10 }, 400, /batchKey/],
	[
		'create with a bad batchKey',
		'post',
		'/v1/batches',
		{ batchKey: '-bad key' },
		400,
		/batchKey must be 1-128/,
	],
	[
		'create with chunkSize 0',
		'post',
		'/v1/batches',
		{ batchKey: 'x1', chunkSize: 0 },
		400,
		/chunkSize/,
	],
	[
		'create with chunkSize as text',
		'post',
		'/v1/batches',
		{ batchKey: 'x2', chunkSize: '10' },
		400,
		/chunkSize/,
	],
	[
		'create with an ftp targetUrl',
		'post',
		'/v1/batches',
		{ batchKey: 'x3', targetUrl: 'ftp://h/x' },
		400,
		/targetUrl/,
	],
	[
		'create with backoff max below initial',
		'post',
		'/v1/batches',
		{ batchKey: 'x4', backoff: { initialMs: 10, maxMs: 1 } },
		400,
		/maxMs must not be below initialMs/,
	],
	[
		'create with ratio 2',
		'post',
		'/v1/batches',
		{ batchKey: 'x5', failureThreshold: { ratio: 2 } },
		400,
		/failureThreshold\.ratio/,
	],
	['create with an array body', 'post', '/v1/batches', [1, 2], 400, /body/],
	['append without items', 'post', `${B}/items`, { final: true }, 400, /items/],
	['append with items not an array', 'post', `${B}/items`, { items: 'abc' }, 400, /items/],
	[
		'append an item without key',
		'post',
		`${B}/items`,
		{ items: [{ json: {} }] },
		400,
		/items\.0\.key/,
	],
	[
		'append an item whose json is a string',
		'post',
		`${B}/items`,
		{ items: [{ key: 'k', json: 'x' }] },
		400,
		/items\.0\.json must be a JSON object/,
	],
	[
		'append an item with a bad key',
		'post',
		`${B}/items`,
		{ items: [{ key: 'a b', json: {} }] },
		400,
		/items\.0\.key/,
	],
	['append with final as text', 'post', `${B}/items`, { items: [], final: 'yes' }, 400, /final/],
	[
		'append more items than a page holds',
		'post',
		`${B}/items`,
		{ items: items(6, 100) },
		413,
		/MAX_ITEMS_PER_PAGE/,
	],
	[
		'append a body over MAX_BODY_BYTES',
		'post',
		`${B}/items`,
		{ items: [{ key: 'big', json: { s: 'x'.repeat(5000) } }] },
		413,
		/MAX_BODY_BYTES/,
	],
	[
		'append to an unknown batch',
		'post',
		'/v1/batches/nope/items',
		{ items: items(1) },
		404,
		/'nope'/,
	],
	[
		'append with a bad batch id',
		'post',
		'/v1/batches/-x/items',
		{ items: items(1) },
		400,
		/batchId/,
	],
	['seal an unknown batch', 'post', '/v1/batches/nope/seal', undefined, 404, /'nope'/],
	['progress with a bad id', 'get', '/v1/batches/a%20b', undefined, 400, /batchId/],
	['list with an unknown state', 'get', '/v1/batches?state=done', undefined, 400, /state/],
	['list with limit 0', 'get', '/v1/batches?limit=0', undefined, 400, /limit/],
	['list with a bad cursor', 'get', '/v1/batches?cursor=abc', undefined, 400, /cursor/],
	['wait longer than a minute', 'get', `${B}/wait?timeoutMs=70000`, undefined, 400, /timeoutMs/],
	['wait with a text timeout', 'get', `${B}/wait?timeoutMs=soon`, undefined, 400, /timeoutMs/],
	[
		'wait on an unknown batch',
		'get',
		'/v1/batches/nope/wait?timeoutMs=10',
		undefined,
		404,
		/'nope'/,
	],
	['pause an unknown batch', 'post', '/v1/batches/nope/pause', undefined, 404, /'nope'/],
	['resume with a bad id', 'post', '/v1/batches/-x/resume', undefined, 400, /batchId/],
	['cancel an unknown batch', 'post', '/v1/batches/nope/cancel', undefined, 404, /'nope'/],
	['patch concurrency 0', 'patch', B, { concurrency: 0 }, 400, /concurrency/],
	['patch concurrency as text', 'patch', B, { concurrency: 'many' }, 400, /concurrency/],
	['patch without concurrency', 'patch', B, {}, 400, /concurrency/],
	['patch an unknown field', 'patch', B, { concurrency: 2, chunkSize: 3 }, 400, /chunkSize/],
	['dead letters with limit 0', 'get', `${B}/dead-letters?limit=0`, undefined, 400, /limit/],
	[
		'dead letters with a bad class',
		'get',
		`${B}/dead-letters?errorClass=a%20b`,
		undefined,
		400,
		/errorClass/,
	],
	[
		'retry dead letters with a numeric class',
		'post',
		`${B}/dead-letters/retry`,
		{ errorClass: 5 },
		400,
		/errorClass/,
	],
	[
		'retry dead letters of an unknown batch',
		'post',
		'/v1/batches/nope/dead-letters/retry',
		{},
		404,
		/'nope'/,
	],
	['report of an unknown batch', 'get', '/v1/batches/nope/report', undefined, 404, /'nope'/],
	['claim without keys', 'post', `${B}/claim`, {}, 400, /keys/],
	['claim with no keys', 'post', `${B}/claim`, { keys: [] }, 400, /keys/],
	[
		'claim with a negative lease time',
		'post',
		`${B}/claim`,
		{ keys: ['item-0'], leaseMs: -5 },
		400,
		/leaseMs/,
	],
	[
		'claim with a bad lease',
		'post',
		`${B}/claim`,
		{ keys: ['item-0'], lease: 'a b' },
		400,
		/lease/,
	],
	['claim on an unknown batch', 'post', '/v1/batches/nope/claim', { keys: ['a'] }, 404, /'nope'/],
	['results without results', 'post', `${B}/results`, { results: [] }, 400, /results/],
	[
		'results with a bad status',
		'post',
		`${B}/results`,
		{ results: [{ key: 'item-0', status: 'maybe' }] },
		400,
		/results\.0\.status/,
	],
	[
		'results with a bad http code',
		'post',
		`${B}/results`,
		{ results: [{ key: 'item-0', status: 'failed', error: { message: 'x', httpCode: 42 } }] },
		400,
		/httpCode/,
	],
	[
		'results on an unknown batch',
		'post',
		'/v1/batches/nope/results',
		{ results: [{ key: 'a', status: 'succeeded' }] },
		404,
		/'nope'/,
	],
	['malformed JSON', 'post', `${B}/items`, '{"items": [', 400, /not valid JSON/],
];

describe('batches: malformed input gets a 4xx naming the problem and changes nothing (real Redis)', () => {
	let service: TestService;
	let before: Record<string, unknown>;
	beforeAll(async () => {
		service = createTestService({ MAX_ITEMS_PER_PAGE: '5', MAX_BODY_BYTES: '4096' });
		await api(service.app).post('/v1/batches', { batchKey: 'b-mal', chunkSize: 2 });
		await api(service.app).post(`${B}/items`, { items: items(5) });
		before = await snapshotBatch(service.ctx.redis, service.ctx.config.KEY_PREFIX);
	});
	afterAll(async () => service.cleanup());

	it.each(CASES)('%s', async (_label, method, path, body, status, mentions) => {
		let test = api(service.app)[method](path, undefined as never);
		if (typeof body === 'string') test = test.set('content-type', 'application/json').send(body);
		else if (body !== undefined) test = test.send(body as object);
		const res = await test;
		expect(res.status).toBe(status);
		expect(res.body.error.message).toMatch(mentions);
		expect(await snapshotBatch(service.ctx.redis, service.ctx.config.KEY_PREFIX)).toEqual(before);
	});

	it.each([
		['post', '/v1/batches'],
		['post', `${B}/items`],
		['post', `${B}/seal`],
		['get', B],
		['get', '/v1/batches'],
		['get', `${B}/wait`],
		['post', `${B}/pause`],
		['post', `${B}/resume`],
		['post', `${B}/cancel`],
		['patch', B],
		['delete', B],
		['get', `${B}/chunks`],
		['get', `${B}/dead-letters`],
		['post', `${B}/dead-letters/retry`],
		['get', `${B}/report`],
		['post', `${B}/claim`],
		['post', `${B}/next-chunk`],
		['post', `${B}/results`],
	] as const)('%s %s refuses a missing or wrong API key', async (method, path) => {
		const none = await request(service.app)
			[method](path)
			.send({ items: items(1, 50) });
		expect(none.status).toBe(401);
		const wrong = await request(service.app)
			[method](path)
			.set('x-api-key', 'wrong-key-0123456789abcdef')
			.send({});
		expect(wrong.status).toBe(401);
		expect(wrong.body.error.message).toMatch(/API key/);
		expect(await snapshotBatch(service.ctx.redis, service.ctx.config.KEY_PREFIX)).toEqual(before);
	});

	it('describes every batch route in the OpenAPI document', async () => {
		const doc = (await api(service.app).get('/openapi.json')).body;
		const paths = Object.keys(doc.paths).filter((p) => p.startsWith('/v1/batches'));
		expect(paths.sort()).toEqual([
			'/v1/batches',
			'/v1/batches/{batchId}',
			'/v1/batches/{batchId}/cancel',
			'/v1/batches/{batchId}/chunks',
			'/v1/batches/{batchId}/claim',
			'/v1/batches/{batchId}/dead-letters',
			'/v1/batches/{batchId}/dead-letters/retry',
			'/v1/batches/{batchId}/items',
			'/v1/batches/{batchId}/next-chunk',
			'/v1/batches/{batchId}/pause',
			'/v1/batches/{batchId}/report',
			'/v1/batches/{batchId}/results',
			'/v1/batches/{batchId}/resume',
			'/v1/batches/{batchId}/seal',
			'/v1/batches/{batchId}/wait',
		]);
		expect(
			doc.paths['/v1/batches'].post.requestBody.content['application/json'].schema.properties
				.chunkSize,
		).toMatchObject({ type: 'integer', minimum: 1 });
	});
});
