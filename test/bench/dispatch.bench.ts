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
 * Each side runs `rounds` times, alternating, and the medians are compared.
 * `npm run bench -- dispatch [--items 20000] [--rounds 3]`
 */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: number) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? Number(args[at + 1]) : fallback;
	};
	const total = arg('items', 20_000);
	const rounds = arg('rounds', 3);
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
		const sink = await sinkAlone(targetUrl);
		console.log(
			`target alone: ${sink.perSecond.toFixed(0)} POSTs/s at ${CONCURRENCY} in flight, p50 ${sink.p50.toFixed(2)} ms`,
		);
		posts = 0;
		// Alternating rounds, median of each: a burst of load on the machine hits both sides.
		const runs = { service: [] as number[], viaHttp: [] as number[], noop: [] as number[] };
		for (let round = 0; round < rounds; round++) {
			runs.service.push(await serviceRun(redis.url, targetUrl, total, round));
			runs.viaHttp.push(await bullmqRun(redis.url, total, round, targetUrl));
			runs.noop.push(await bullmqRun(redis.url, total, round));
			console.log(
				`round ${round + 1}: service ${runs.service[round].toFixed(0)} items/s, BullMQ+POST ${runs.viaHttp[round].toFixed(0)}, BullMQ empty ${runs.noop[round].toFixed(0)} jobs/s`,
			);
		}
		const service = median(runs.service);
		const viaHttp = median(runs.viaHttp);
		const noop = median(runs.noop);
		const ratio = service / viaHttp;
		console.log(
			`items=${total} chunk_size=100 concurrency=${CONCURRENCY} rounds=${rounds} (medians) target_posts=${posts}`,
		);
		console.log(`service dispatch:            ${service.toFixed(0)} items/s`);
		console.log(
			`BullMQ, job per item + POST: ${viaHttp.toFixed(0)} jobs/s (ratio ${ratio.toFixed(2)})`,
		);
		console.log(
			`BullMQ, job per item, empty: ${noop.toFixed(0)} jobs/s (ratio ${(service / noop).toFixed(2)})`,
		);
		console.log(
			`RESULT dispatch items_per_s=${service.toFixed(0)} bullmq_jobs_per_s=${viaHttp.toFixed(0)} ratio=${ratio.toFixed(2)} bullmq_empty_jobs_per_s=${noop.toFixed(0)} ratio_empty=${(service / noop).toFixed(2)} sink_posts_per_s=${sink.perSecond.toFixed(0)}`,
		);
	} finally {
		target.closeAllConnections();
		target.close();
		await redis.stop();
	}
}

/** The no-op target measured alone: what it costs before anything of ours is added. */
async function sinkAlone(targetUrl: string): Promise<{ perSecond: number; p50: number }> {
	const count = 4000;
	const latencies: number[] = [];
	let next = 0;
	const started = performance.now();
	await Promise.all(
		Array.from({ length: CONCURRENCY }, async () => {
			while (next++ < count) {
				const t = performance.now();
				const res = await fetch(targetUrl, { method: 'POST', body: '{}' });
				await res.text();
				latencies.push(performance.now() - t);
			}
		}),
	);
	latencies.sort((a, b) => a - b);
	return {
		perSecond: count / ((performance.now() - started) / 1000),
		p50: latencies[Math.floor(latencies.length / 2)],
	};
}

const median = (values: number[]): number => {
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.floor(sorted.length / 2)];
};

async function serviceRun(
	redisUrl: string,
	targetUrl: string,
	total: number,
	round: number,
): Promise<number> {
	const config = configSchema.parse({
		PORT: '0',
		API_KEY,
		REDIS_URL: redisUrl,
		KEY_PREFIX: `bench-dispatch-${round}`,
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

async function bullmqRun(
	redisUrl: string,
	total: number,
	round: number,
	targetUrl?: string,
): Promise<number> {
	const connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
	const name = `raw-${targetUrl ? 'post' : 'empty'}-${round}`;
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
