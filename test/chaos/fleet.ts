import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { freePort } from '../harness/redis';

const ROOT = path.resolve(__dirname, '../..');
export const CHAOS_API_KEY = 'chaos-key-0123456789abcdef';
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** One companion-service process, run as a child like in production, that can be killed -9. */
export interface ServiceProcess {
	url: string;
	start(): Promise<void>;
	kill(signal?: NodeJS.Signals): Promise<void>;
}

export async function serviceProcess(
	redisUrl: string,
	keyPrefix: string,
	env: Record<string, string> = {},
): Promise<ServiceProcess> {
	const port = await freePort();
	const url = `http://127.0.0.1:${port}`;
	let child: ChildProcess | undefined;
	return {
		url,
		async start() {
			child = spawn(process.execPath, ['--import', 'tsx', 'service/src/main.ts'], {
				cwd: ROOT,
				stdio: ['ignore', 'ignore', 'inherit'],
				env: {
					...process.env,
					PORT: String(port),
					API_KEY: CHAOS_API_KEY,
					REDIS_URL: redisUrl,
					KEY_PREFIX: keyPrefix,
					LOG_LEVEL: 'error',
					...env,
				},
			});
			const deadline = Date.now() + 20_000;
			for (;;) {
				const up = await fetch(`${url}/health`).then(
					(r) => r.ok,
					() => false,
				);
				if (up) return;
				if (child.exitCode !== null || Date.now() > deadline) {
					throw new Error(`service on ${url} did not start (exit ${child.exitCode})`);
				}
				await sleep(100);
			}
		},
		async kill(signal = 'SIGKILL') {
			const running = child;
			if (!running || running.exitCode !== null || running.signalCode !== null) return;
			const exited = new Promise((resolve) => running.once('exit', resolve));
			running.kill(signal);
			await exited;
		},
	};
}

export async function callApi(
	baseUrl: string,
	method: string,
	route: string,
	body?: unknown,
): Promise<any> {
	const response = await fetch(`${baseUrl}${route}`, {
		method,
		headers: { 'content-type': 'application/json', 'x-api-key': CHAOS_API_KEY },
		body: body === undefined ? undefined : JSON.stringify(body),
		signal: AbortSignal.timeout(65_000),
	});
	const json = await response.json();
	if (!response.ok)
		throw new Error(`${method} ${route}: ${response.status} ${JSON.stringify(json)}`);
	return json;
}

/**
 * A key-honouring worker webhook, like a Checkpoint workflow: works each item (a few ms), applies
 * its effect once per idempotency key, records it through Record Results under the dispatch's
 * lease (retrying across service URLs while they are down), and answers 200 at the end. It keeps
 * working when the service that called it dies, as an n8n execution would.
 * duplicates: deliveries of a key whose effect was already applied and acknowledged.
 */
export interface RecordingSink {
	url: string;
	applied: Set<string>;
	duplicates: number;
	/** How often the service recorded each item (answers not listing it as ignored). */
	recorded: Map<string, number>;
	/** Every delivery, in order: idempotency key and when it arrived. */
	deliveries: Array<{ key: string; at: number }>;
	/** When the service first acknowledged each item's success (its record was not ignored). */
	ackedAt: Map<string, number>;
	close(): Promise<void>;
}

export async function recordingSink(
	serviceUrls: () => string[],
	options: { workMs: number; failPermanently: (n: number) => boolean },
): Promise<RecordingSink> {
	const sink: RecordingSink = {
		url: '',
		applied: new Set(),
		duplicates: 0,
		recorded: new Map(),
		deliveries: [],
		ackedAt: new Map(),
		close: async () => undefined,
	};
	let turn = 0;
	const record = async (
		batchId: string,
		lease: string,
		results: unknown[],
	): Promise<{ ignored: Array<{ key: string }> }> => {
		const deadline = Date.now() + 60_000;
		for (;;) {
			if (closed) throw new Error('sink closed');
			const urls = serviceUrls();
			const base = urls[turn++ % urls.length];
			try {
				return await callApi(base, 'POST', `/v1/batches/${batchId}/results`, { lease, results });
			} catch (error) {
				if (Date.now() > deadline) throw error;
				await sleep(100);
			}
		}
	};
	let closed = false;
	const server: Server = createServer((req, res) => {
		let data = '';
		req.on('data', (chunk) => (data += chunk));
		req.on('end', () => void work(data, res).catch(() => res.destroy()));
	});
	// A worker that keeps going when the service that called it dies, until the sink is closed.
	const work = async (data: string, res: ServerResponse): Promise<void> => {
		{
			const dispatch = JSON.parse(data) as {
				batchId: string;
				lease: string;
				items: Array<{ key: string; json: { n: number }; idempotencyKey: string }>;
			};
			for (let i = 0; i < dispatch.items.length; i += 10) {
				const group = dispatch.items.slice(i, i + 10);
				const results = [];
				for (const item of group) {
					await sleep(options.workMs);
					sink.deliveries.push({ key: item.idempotencyKey, at: Date.now() });
					if (sink.applied.has(item.idempotencyKey)) sink.duplicates++;
					sink.applied.add(item.idempotencyKey);
					results.push(
						options.failPermanently(item.json.n)
							? {
									key: item.key,
									status: 'failed',
									error: { message: 'rejected by sink', transient: false, class: 'rejected' },
								}
							: { key: item.key, status: 'succeeded' },
					);
				}
				const answer = await record(dispatch.batchId, dispatch.lease, results);
				const ignored = new Set(answer.ignored.map((entry) => entry.key));
				const now = Date.now();
				for (const item of group) {
					if (ignored.has(item.key)) continue;
					sink.recorded.set(item.key, (sink.recorded.get(item.key) ?? 0) + 1);
					if (!sink.ackedAt.has(item.idempotencyKey)) sink.ackedAt.set(item.idempotencyKey, now);
				}
			}
			if (!res.destroyed)
				res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
		}
	};
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	sink.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
	sink.close = () =>
		new Promise((resolve) => {
			closed = true;
			server.closeAllConnections();
			server.close(() => resolve());
		});
	return sink;
}

/**
 * Splits repeat deliveries into true duplicates (the service had acknowledged the item's success
 * and still sent it again) and unacknowledged resends (no acknowledgement, or one given within
 * `lossWindowMs` before a Redis kill, which an AOF fsynced every second may forget).
 */
export function classifyRepeats(
	sink: RecordingSink,
	kills: number[],
	lossWindowMs = 1_500,
): { duplicates: number; unackedResends: number } {
	const seen = new Set<string>();
	let duplicates = 0;
	let unackedResends = 0;
	for (const { key, at } of sink.deliveries) {
		if (!seen.has(key)) {
			seen.add(key);
			continue;
		}
		const acked = sink.ackedAt.get(key);
		const forgettable =
			acked === undefined ||
			acked >= at ||
			kills.some((kill) => kill >= acked && kill <= at && kill - acked <= lossWindowMs);
		if (forgettable) unackedResends++;
		else duplicates++;
	}
	return { duplicates, unackedResends };
}

export const randomBetween = (min: number, max: number): number =>
	min + Math.floor(Math.random() * (max - min));
