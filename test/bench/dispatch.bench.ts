import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';

import { configSchema } from '../../service/src/config';
import { createLogger } from '../../service/src/logger';
import { startService } from '../../service/src/server';
import { startPrivateRedis } from '../harness/redis';

const API_KEY = 'bench-key-0123456789abcdef';
const CONCURRENCY = 16;

/**
 * Dispatch throughput: items/s through the service (chunk size 100) to a no-op HTTP target,
 * against raw BullMQ with one job per item whose processor POSTs that item to the same target
 * (what one HTTP call per item costs), on the same Redis, in the same run. The BullMQ figure with
 * an empty processor is printed too, as the queue's own ceiling.
 * `npm run bench -- dispatch [--items 20000]`
 */
export async function run(args: string[]): Promise<void> {
	const at = args.indexOf('--items');
	const total = at >= 0 ? Number(args[at + 1]) : 20_000;
	const redis = await startPrivateRedis();
	let posts = 0;
	const target = createServer((req, res) => {
		req.resume();
		req.on('end', () => {
			posts++;
			res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
		});
	});
	await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
	const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/hook`;
	try {
		const service = await serviceRun(redis.url, targetUrl, total);
		const viaHttp = await bullmqRun(redis.url, total, targetUrl);
		const noop = await bullmqRun(redis.url, total);
		const ratio = service / viaHttp;
		console.log(`items=${total} chunk_size=100 concurrency=${CONCURRENCY} target_posts=${posts}`);
		console.log(`service dispatch:            ${service.toFixed(0)} items/s`);
		console.log(
			`BullMQ, job per item + POST: ${viaHttp.toFixed(0)} jobs/s (ratio ${ratio.toFixed(2)})`,
		);
		console.log(
			`BullMQ, job per item, empty: ${noop.toFixed(0)} jobs/s (ratio ${(service / noop).toFixed(2)})`,
		);
		console.log(
			`RESULT dispatch items_per_s=${service.toFixed(0)} bullmq_jobs_per_s=${viaHttp.toFixed(0)} ratio=${ratio.toFixed(2)} bullmq_empty_jobs_per_s=${noop.toFixed(0)}`,
		);
	} finally {
		target.closeAllConnections();
		target.close();
		await redis.stop();
	}
}

async function serviceRun(redisUrl: string, targetUrl: string, total: number): Promise<number> {
	const config = configSchema.parse({
		PORT: '0',
		API_KEY,
		REDIS_URL: redisUrl,
		KEY_PREFIX: 'bench-dispatch',
		LOG_LEVEL: 'silent',
		DISPATCH_CONCURRENCY: String(CONCURRENCY),
	});
	const service = await startService(config, createLogger('silent'));
	const call = async (method: string, route: string, body?: unknown) => {
		const res = await fetch(`${service.url}${route}`, {
			method,
			headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		return res.json() as Promise<any>;
	};
	try {
		const started = performance.now();
		const batchKey = 'bench';
		await call('POST', '/v1/batches', {
			batchKey,
			targetUrl,
			chunkSize: 100,
			concurrency: CONCURRENCY,
		});
		for (let i = 0; i < total; i += 5000) {
			const items = Array.from({ length: Math.min(5000, total - i) }, (_, j) => ({
				key: `item-${i + j}`,
				json: { n: i + j, email: `user${i + j}@example.com` },
			}));
			await call('POST', `/v1/batches/${batchKey}/items`, { items });
		}
		await call('POST', `/v1/batches/${batchKey}/seal`);
		for (let i = 0; i < 60; i++) {
			const waited = await call('GET', `/v1/batches/${batchKey}/wait?timeoutMs=10000`);
			if (waited.done) {
				if (waited.progress.counts.succeeded !== total) throw new Error('service bench lost items');
				break;
			}
		}
		return total / ((performance.now() - started) / 1000);
	} finally {
		await service.stop();
	}
}

async function bullmqRun(redisUrl: string, total: number, targetUrl?: string): Promise<number> {
	const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
	const name = `raw-${targetUrl ? 'post' : 'empty'}`;
	const queue = new Queue(name, { connection, prefix: 'bench-raw' });
	const started = performance.now();
	for (let i = 0; i < total; i += 5000) {
		const count = Math.min(5000, total - i);
		await queue.addBulk(
			Array.from({ length: count }, (_, j) => ({
				name: 'item',
				data: { key: `item-${i + j}`, json: { n: i + j, email: `user${i + j}@example.com` } },
				opts: { removeOnComplete: true },
			})),
		);
	}
	let done = 0;
	const finished = new Promise<void>((resolve) => {
		const worker = new Worker(
			name,
			async (job) => {
				if (targetUrl) {
					const res = await fetch(targetUrl, {
						method: 'POST',
						headers: { 'content-type': 'application/json' },
						body: JSON.stringify(job.data),
					});
					await res.text();
				}
			},
			{
				connection: new Redis(redisUrl, { maxRetriesPerRequest: null }),
				prefix: 'bench-raw',
				concurrency: CONCURRENCY,
			},
		);
		worker.on('completed', () => {
			if (++done === total) {
				void worker.close().then(() => resolve());
			}
		});
	});
	await finished;
	const rate = total / ((performance.now() - started) / 1000);
	await queue.close();
	connection.disconnect();
	return rate;
}
