import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { RedisClient } from '../../../service/src/redis/connection';
import request from 'supertest';

import type { Config } from '../../../service/src/config';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';

export interface DispatchItem {
	key: string;
	json: Record<string, unknown>;
	idempotencyKey: string;
	attempt: number;
}
export interface Dispatch {
	batchId: string;
	chunkIndex: number;
	attempt: number;
	lease: string;
	items: DispatchItem[];
}
export interface SinkAnswer {
	status?: number;
	headers?: Record<string, string>;
	body?: unknown;
	delayMs?: number;
}

/** A worker webhook on 127.0.0.1: records every dispatch, answers what `handle` says. */
export interface Sink {
	url: string;
	dispatches: Dispatch[];
	secrets: Array<string | undefined>;
	/** Deliveries per idempotency key. */
	seen: Map<string, number>;
	close(): Promise<void>;
}

export async function startSink(
	handle: (dispatch: Dispatch) => SinkAnswer | Promise<SinkAnswer> = () => ({}),
): Promise<Sink> {
	const dispatches: Dispatch[] = [];
	const secrets: Array<string | undefined> = [];
	const seen = new Map<string, number>();
	const server = createServer(async (req, res) => {
		const dispatch = JSON.parse(await readBody(req)) as Dispatch;
		dispatches.push(dispatch);
		secrets.push(req.headers['x-batch-guardian-secret'] as string | undefined);
		for (const item of dispatch.items) {
			seen.set(item.idempotencyKey, (seen.get(item.idempotencyKey) ?? 0) + 1);
		}
		try {
			const answer = await handle(dispatch);
			if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
			if (res.destroyed) return;
			res.writeHead(answer.status ?? 200, {
				'content-type': 'application/json',
				...answer.headers,
			});
			res.end(JSON.stringify(answer.body ?? { ok: true }));
		} catch (error) {
			res.writeHead(500).end(String(error));
		}
	});
	const url = await listenOn(server);
	return {
		url: `${url}/hook`,
		dispatches,
		secrets,
		seen,
		close: () => closeServer(server),
	};
}

export function readBody(req: IncomingMessage): Promise<string> {
	return new Promise((resolve, reject) => {
		let data = '';
		req.setEncoding('utf8');
		req.on('data', (chunk: string) => (data += chunk));
		req.on('end', () => resolve(data));
		req.on('error', reject);
	});
}

export function listenOn(server: Server): Promise<string> {
	return new Promise((resolve) => {
		server.listen(0, '127.0.0.1', () => {
			resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
		});
	});
}

export function closeServer(server: Server): Promise<void> {
	server.closeAllConnections();
	return new Promise((resolve) => server.close(() => resolve()));
}

/** The app on a real port, so sinks can call Record Results back over HTTP. */
export async function serveApp(app: Express): Promise<{ url: string; close(): Promise<void> }> {
	const server = createServer(app);
	const url = await listenOn(server);
	return { url, close: () => closeServer(server) };
}

export async function callService(
	baseUrl: string,
	method: string,
	path: string,
	body?: unknown,
): Promise<{ status: number; body: any }> {
	const response = await fetch(`${baseUrl}${path}`, {
		method,
		headers: { 'content-type': 'application/json', 'x-api-key': TEST_API_KEY },
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	return { status: response.status, body: await response.json() };
}

export function api(app: Express) {
	const withKey = <T extends request.Test>(test: T): T => test.set('x-api-key', TEST_API_KEY) as T;
	return {
		get: (path: string) => withKey(request(app).get(path)),
		post: (path: string, body?: unknown) => {
			const test = withKey(request(app).post(path));
			return body === undefined ? test : test.send(body as object);
		},
		patch: (path: string, body?: unknown) => withKey(request(app).patch(path)).send(body as object),
		put: (path: string, body?: unknown) => withKey(request(app).put(path)).send(body as object),
		delete: (path: string) => withKey(request(app).delete(path)),
	};
}

export const items = (count: number, from = 0) =>
	Array.from({ length: count }, (_, i) => ({ key: `item-${from + i}`, json: { n: from + i } }));

/** Creates, fills and seals a batch through the HTTP API. */
export async function submitBatch(
	app: Express,
	settings: Record<string, unknown>,
	list: Array<{ key: string; json: unknown }>,
	pageSize = 500,
): Promise<string> {
	const created = await api(app).post('/v1/batches', settings);
	if (created.status >= 300) throw new Error(`create failed: ${JSON.stringify(created.body)}`);
	const batchId = created.body.batchId as string;
	for (let i = 0; i < list.length; i += pageSize) {
		const page = await api(app).post(`/v1/batches/${batchId}/items`, {
			items: list.slice(i, i + pageSize),
		});
		if (page.status !== 200) throw new Error(`append failed: ${JSON.stringify(page.body)}`);
	}
	await api(app).post(`/v1/batches/${batchId}/seal`);
	return batchId;
}

/** Long-polls the wait route until the batch is finished (bounded). */
export async function waitDone(app: Express, batchId: string, timeoutMs = 20_000): Promise<any> {
	const deadline = Date.now() + timeoutMs;
	while (Date.now() < deadline) {
		const res = await api(app).get(
			`/v1/batches/${batchId}/wait?timeoutMs=${Math.min(5000, deadline - Date.now())}`,
		);
		if (res.body.done) return res.body.progress;
	}
	throw new Error(`batch ${batchId} not done within ${timeoutMs} ms`);
}

/** Polls (bounded) until `check` passes; for conditions that publish no event. */
export async function eventually<T>(
	check: () => Promise<T | undefined | false>,
	timeoutMs = 10_000,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error('condition not met in time');
		await new Promise((resolve) => setTimeout(resolve, 50));
	}
}

/** Every key under a batch and its contents, to prove a refused request changed nothing. */
export async function snapshotBatch(
	redis: RedisClient,
	prefix: string,
): Promise<Record<string, unknown>> {
	const keys = (await redis.keys(`${prefix}:batch*`)).sort();
	const out: Record<string, unknown> = {};
	for (const key of keys) {
		const type = await redis.type(key);
		out[key] =
			type === 'hash'
				? await redis.hgetall(key)
				: type === 'list'
					? await redis.lrange(key, 0, -1)
					: type === 'set'
						? (await redis.smembers(key)).sort()
						: type === 'zset'
							? await redis.zrange(key, 0, -1, 'WITHSCORES')
							: await redis.get(key);
	}
	return out;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface DispatchFixture {
	service: TestService;
	served: { url: string; close(): Promise<void> };
	sink?: Sink;
}

/** Per test: a service with a started dispatcher, served on a port; its sink is closed after. */
export function dispatchFixture(
	overrides: Partial<Record<keyof Config, string>> = {},
): DispatchFixture {
	const fixture = {} as DispatchFixture;
	beforeEach(async () => {
		fixture.service = createTestService(overrides, { dispatcher: true });
		fixture.served = await serveApp(fixture.service.app);
	});
	afterEach(async () => {
		await fixture.sink?.close();
		fixture.sink = undefined;
		await fixture.served.close();
		await fixture.service.cleanup();
	});
	return fixture;
}
