import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

import { Queue, Worker } from 'bullmq';

import { createApp } from '../../service/src/app';
import { assembleBatches } from '../../service/src/batches';
import { configSchema } from '../../service/src/config';
import { createLogger } from '../../service/src/logger';
import { createRedis } from '../../service/src/redis/connection';
import { Keys } from '../../service/src/redis/keys';
import { deleteByPrefix } from '../harness/service';
import { maxInWindow, percentile, type Grant } from '../harness/rate-windows';
import { resolveTestRedis } from '../harness/redis';

/**
 * `npm run bench -- ratelimit [--seconds 60]`: 4 concurrent callers share one limiter key at
 * 600/min (capacity 10) through the service's HTTP API on a real Redis. The measured rate counts
 * grants over `seconds` after a one-second warm-up (the initial burst of `capacity` is the
 * bucket's contract, not its rate). Competitors in the same run: BullMQ's fixed-window worker
 * limiter (max 10 per 1000 ms, 4 workers) and n8n-style per-execution spacing (each execution
 * waits 100 ms between items, unaware of the others).
 */
const CALLERS = 4;
const CAPACITY = 10;
const PER_MIN = 600;
const WARMUP_MS = 1_000;
const API_KEY = 'bench-key-0123456789abcdef';

export async function run(args: string[]): Promise<void> {
	const seconds = Number(args[args.indexOf('--seconds') + 1]) || 60;
	const measureMs = seconds * 1_000;
	const redis = await resolveTestRedis();
	const prefix = `bg-bench-${randomBytes(4).toString('hex')}`;
	const service = await startService(redis.url, prefix);
	try {
		console.log(
			`ratelimit: ${CALLERS} callers, ${PER_MIN}/min, capacity ${CAPACITY}, ${seconds} s`,
		);
		const ours = await limiterRun(service.url, measureMs);
		const overhead = await throughputRun(service.url, 5_000);
		const bull = await bullmqRun(redis.url, `${prefix}-bull`, measureMs);
		const spacing = await spacingRun(Math.min(measureMs, 10_000));
		const line = (name: string, r: Rate) =>
			console.log(
				`${name.padEnd(26)} measured ${r.perMin.toFixed(1)}/min  error ${r.errorPct.toFixed(2)}%  max in 1 s ${r.max1s} (allowed ${CAPACITY + PER_MIN / 60})  max in 60 s ${r.max60s}  max in 100 ms ${r.max100ms}`,
			);
		line('batch-guardian limiter', ours.rate);
		line('bullmq fixed window', bull);
		line('per-execution spacing', spacing);
		console.log(
			`acquire while rate-bound (queue wait included): p50 ${ours.p50} ms, p99 ${ours.p99} ms`,
		);
		console.log(
			`acquire uncontended (service + Redis round trip): p50 ${overhead.p50} ms, p99 ${overhead.p99} ms, ${overhead.perSecond} acquires/s`,
		);
		console.log(
			`RESULT ratelimit configured_per_min=${PER_MIN} measured_per_min=${ours.rate.perMin.toFixed(1)} error_pct=${ours.rate.errorPct.toFixed(2)} p99_ms=${overhead.p99} p50_ms=${overhead.p50} acquires_per_s=${overhead.perSecond} max_1s=${ours.rate.max1s} bullmq_per_min=${bull.perMin.toFixed(1)} bullmq_error_pct=${bull.errorPct.toFixed(2)} bullmq_max_1s=${bull.max1s} max_100ms=${ours.rate.max100ms} bullmq_max_100ms=${bull.max100ms} spacing_error_pct=${spacing.errorPct.toFixed(1)}`,
		);
	} finally {
		await service.stop();
		const cleaner = createRedis(redis.url);
		await deleteByPrefix({ redis: cleaner }, prefix);
		await cleaner.quit();
		await redis.own?.stop();
	}
}

interface Rate {
	perMin: number;
	errorPct: number;
	max1s: number;
	max60s: number;
	/** Busiest 100 ms after the warm-up: how evenly the rate is spread (ideal: 1 at 10/s). */
	max100ms: number;
}

/** Rate over [start + warm-up, +measureMs), and the busiest windows over the whole run. */
function rateOf(grants: Grant[], start: number, measureMs: number): Rate {
	const from = start + WARMUP_MS;
	const steady = grants.filter((g) => g.at >= from && g.at < from + measureMs);
	const counted = steady.length;
	const perMin = (counted / measureMs) * 60_000;
	return {
		perMin,
		errorPct: ((perMin - PER_MIN) / PER_MIN) * 100,
		max1s: maxInWindow(grants, 1_000),
		max60s: maxInWindow(grants, 60_000),
		max100ms: maxInWindow(steady, 100),
	};
}

async function startService(redisUrl: string, prefix: string) {
	const config = configSchema.parse({
		API_KEY,
		REDIS_URL: redisUrl,
		KEY_PREFIX: prefix,
		LOG_LEVEL: 'silent',
	});
	const redis = createRedis(redisUrl);
	const ctx = {
		config,
		redis,
		redisTarget: { url: redisUrl },
		keys: new Keys(prefix),
		logger: createLogger('silent'),
	};
	const batches = assembleBatches(ctx);
	const app = createApp(ctx, batches);
	const server = await new Promise<Server>((resolve) => {
		const s = app.listen(0, '127.0.0.1', () => resolve(s));
	});
	const { port } = server.address() as AddressInfo;
	return {
		url: `http://127.0.0.1:${port}`,
		stop: async () => {
			server.closeAllConnections();
			await new Promise((resolve) => server.close(resolve));
			await batches.stop(0);
			await redis.quit();
		},
	};
}

async function acquire(url: string, key: string, body: object): Promise<{ granted: boolean }> {
	const response = await fetch(`${url}/v1/limiters/${key}/acquire`, {
		method: 'POST',
		headers: { 'content-type': 'application/json', 'x-api-key': API_KEY },
		body: JSON.stringify(body),
	});
	if (!response.ok) throw new Error(`acquire: HTTP ${response.status} ${await response.text()}`);
	return (await response.json()) as { granted: boolean };
}

/** CALLERS loops, each acquiring one token at a time until the run is over. */
async function callers(
	url: string,
	key: string,
	body: object,
	durationMs: number,
): Promise<{ grants: Grant[]; latencies: number[]; start: number }> {
	const grants: Grant[] = [];
	const latencies: number[] = [];
	const start = Date.now();
	const deadline = start + durationMs;
	await Promise.all(
		Array.from({ length: CALLERS }, async (_, caller) => {
			while (Date.now() < deadline) {
				const sent = performance.now();
				const answer = await acquire(url, key, body);
				latencies.push(performance.now() - sent);
				if (answer.granted) grants.push({ at: Date.now(), cost: 1, caller });
			}
		}),
	);
	return { grants, latencies, start };
}

async function limiterRun(url: string, measureMs: number) {
	const settings = { capacity: CAPACITY, refillAmount: PER_MIN, refillUnit: 'minute' };
	const body = { cost: 1, maxWaitMs: 10_000, settings };
	const { grants, latencies, start } = await callers(url, 'bench', body, WARMUP_MS + measureMs);
	return {
		rate: rateOf(grants, start, measureMs),
		p50: Math.round(percentile(latencies, 50)),
		p99: Math.round(percentile(latencies, 99)),
	};
}

/** The limiter's own cost: a key so large it never waits, hammered by the same callers. */
async function throughputRun(url: string, durationMs: number) {
	const settings = { capacity: 1e9, refillAmount: 1e9, refillUnit: 'second' };
	const { latencies } = await callers(url, 'bench-free', { cost: 1, settings }, durationMs);
	const round = (ms: number) => Math.round(ms * 10) / 10;
	return {
		p50: round(percentile(latencies, 50)),
		p99: round(percentile(latencies, 99)),
		perSecond: Math.round(latencies.length / (durationMs / 1000)),
	};
}

/** BullMQ's limiter: at most `max` jobs per fixed window of `duration` ms, across 4 workers. */
async function bullmqRun(redisUrl: string, prefix: string, measureMs: number): Promise<Rate> {
	const connection = createRedis(redisUrl, { maxRetriesPerRequest: null });
	const queue = new Queue('bench', { connection, prefix });
	const jobs = Math.ceil(((WARMUP_MS + measureMs) / 60_000) * PER_MIN * 1.5) + CAPACITY;
	await queue.addBulk(Array.from({ length: jobs }, (_, i) => ({ name: 'item', data: { i } })));
	const grants: Grant[] = [];
	const start = Date.now();
	const workers = Array.from(
		{ length: CALLERS },
		(_, caller) =>
			new Worker(
				'bench',
				async () => {
					grants.push({ at: Date.now(), cost: 1, caller });
				},
				{
					connection: createRedis(redisUrl, { maxRetriesPerRequest: null }),
					prefix,
					concurrency: 1,
					limiter: { max: CAPACITY, duration: 1_000 },
				},
			),
	);
	await sleep(WARMUP_MS + measureMs);
	await Promise.all(workers.map((w) => w.close(true)));
	await queue.obliterate({ force: true });
	await queue.close();
	await connection.quit();
	return rateOf(grants, start, measureMs);
}

/** n8n-style pacing: each execution spaces its own items by 60 s / rate, blind to the others. */
async function spacingRun(measureMs: number): Promise<Rate> {
	const grants: Grant[] = [];
	const start = Date.now();
	const deadline = start + WARMUP_MS + measureMs;
	await Promise.all(
		Array.from({ length: CALLERS }, async (_, caller) => {
			while (Date.now() < deadline) {
				grants.push({ at: Date.now(), cost: 1, caller });
				await sleep(60_000 / PER_MIN);
			}
		}),
	);
	return rateOf(grants, start, measureMs);
}
