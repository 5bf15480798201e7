import http from 'node:http';

import {
	send,
	sendJson,
	startHostileService,
	type Answer,
	type HostileService,
} from './hostile-helpers';
import {
	BATCH,
	baseBody,
	everyCase,
	fill,
	hasBodyMethod,
	JSON_TYPE,
	LIMITER,
	MAX_BODY_BYTES,
	operationsOf,
	type Case,
	type Operation,
} from './hostile-corpus-cases';

/**
 * Several hundred bad requests, generated from GET /openapi.json against every route it lists:
 * whatever a hostile client sends, the answer is never 5xx and always the JSON error shape.
 */

/** What is wrong with an answer, or undefined when it is right. */
function judge(test: Case, answer: Answer): string | undefined {
	if (answer.status >= 500) return `answered ${answer.status}`;
	if (test.status !== undefined && answer.status !== test.status) {
		return `answered ${answer.status}, expected ${test.status}`;
	}
	if (answer.status < 400) return undefined;
	const error = answer.body.error;
	if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) return 'not JSON';
	if (typeof error?.code !== 'string' || typeof error.message !== 'string' || !error.message) {
		return 'no error shape';
	}
	if (test.mentions && !JSON.stringify(error).includes(test.mentions)) {
		return `does not mention ${test.mentions}`;
	}
	return undefined;
}

async function runAll(port: number, cases: Case[]): Promise<string[]> {
	const failures: string[] = [];
	let next = 0;
	await Promise.all(
		Array.from({ length: 6 }, async () => {
			while (next < cases.length) {
				const test = cases[next++];
				try {
					const answer = await send(port, test.method, test.path, test);
					const wrong = judge(test, answer);
					if (wrong) failures.push(`${test.label}: ${wrong}: ${answer.text.slice(0, 200)}`);
				} catch (error) {
					failures.push(`${test.label}: ${(error as Error).message}`);
				}
			}
		}),
	);
	return failures;
}

/** Sends the headers of a large body and never the body: the 401 must come anyway. */
function unauthenticatedHeadersOnly(port: number, method: string, path: string): Promise<number> {
	return new Promise((resolve, reject) => {
		const req = http.request({
			host: '127.0.0.1',
			port,
			method,
			path,
			agent: false,
			headers: { 'content-type': 'application/json', 'content-length': '10000000' },
		});
		const timer = setTimeout(() => {
			req.destroy();
			reject(new Error(`${method} ${path}: no 401 while the body was not sent`));
		}, 3_000);
		req.on('response', (res) => {
			clearTimeout(timer);
			res.resume();
			req.destroy();
			resolve(res.statusCode ?? 0);
		});
		req.on('error', () => undefined);
		req.flushHeaders();
	});
}

describe('a corpus of hostile requests against every route in the OpenAPI document', () => {
	let service: HostileService;
	let operations: Operation[];
	beforeAll(async () => {
		service = await startHostileService({ MAX_BODY_BYTES: String(MAX_BODY_BYTES) });
		const document = await send(service.port, 'GET', '/openapi.json');
		operations = operationsOf(document.body as never);
		expect((await sendJson(service.port, 'POST', '/v1/batches', { batchKey: BATCH })).status).toBe(
			201,
		);
		const limiter = { capacity: 1_000_000, refillAmount: 1_000_000, refillUnit: 'second' };
		expect((await sendJson(service.port, 'PUT', `/v1/limiters/${LIMITER}`, limiter)).status).toBe(
			200,
		);
	});
	afterAll(async () => service.close());

	it('covers every route, batch routes included, with several hundred requests', () => {
		const paths = operations.map((op) => `${op.method} ${op.path}`);
		expect(paths).toEqual(
			expect.arrayContaining([
				'POST /v1/batches',
				'POST /v1/batches/{batchId}/items',
				'POST /v1/batches/{batchId}/claim',
				'POST /v1/limiters/{limiterKey}/acquire',
				'POST /v1/limiters/{limiterKey}/take',
			]),
		);
		expect(everyCase(operations).length).toBeGreaterThan(500);
	});

	it('never answers 5xx, always answers the error shape, and keeps serving', async () => {
		const failures = await runAll(service.port, everyCase(operations));
		expect(failures).toEqual([]);
		expect((await send(service.port, 'GET', '/health')).status).toBe(200);
		expect(service.logs.filter((line) => line.level >= 50)).toEqual([]);
	}, 120_000);

	it('answers 401 without reading the body of any route', async () => {
		for (const op of operations.filter((o) => hasBodyMethod(o.method))) {
			expect([
				op.path,
				await unauthenticatedHeadersOnly(service.port, op.method, fill(op.path)),
			]).toEqual([op.path, 401]);
		}
	});

	/** Every area's body schemas are strict objects; a new area belongs in this list. */
	it.each(['limiters', 'batches', 'cursors'])(
		'refuses unknown fields on every %s route, naming them',
		async (area) => {
			const cases: Case[] = operations
				.filter((op) => op.body && op.path.startsWith(`/v1/${area}`))
				.map((op) => ({
					label: `${op.method} ${op.path}: unknown field`,
					method: op.method,
					path: fill(op.path),
					headers: JSON_TYPE,
					body: JSON.stringify({ ...baseBody(op), unknownCorpusField: 1 }),
					status: 400,
					mentions: 'unknownCorpusField',
				}));
			expect(cases.length).toBeGreaterThan(0);
			expect(await runAll(service.port, cases)).toEqual([]);
		},
	);
});
