import { randomBytes } from 'node:crypto';

import { startPrivateRedis } from '../harness/redis';
import { callApi, classifyRepeats, recordingSink, serviceProcess } from './fleet';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface KillRedisResult {
	items: number;
	succeeded: number;
	deadLettered: number;
	lost: number;
	duplicates: number;
	unackedResends: number;
	redisKills: number;
	seconds: number;
}

/**
 * kill -9 of Redis (AOF, fsync every second) twice during a batch, each time restarted from its
 * AOF after a few seconds, with two service processes and a worker that honours idempotency keys
 * and records through Record Results. Lost: items neither succeeded nor dead-lettered.
 * Duplicates: deliveries after the service acknowledged the item's success; resends the killed
 * Redis may have forgotten (no acknowledgement, or one within ~1 s of a kill) are counted apart.
 */
export async function killRedis(options: { items?: number } = {}): Promise<KillRedisResult> {
	const total = options.items ?? 5000;
	const redis = await startPrivateRedis({ aof: 'everysec' });
	const prefix = `chaos-${randomBytes(4).toString('hex')}`;
	const env = {
		DISPATCH_LOCK_MS: '3000',
		LEASE_GRACE_MS: '15000',
		DISPATCH_CONCURRENCY: '8',
		REDIS_RETRY_MS: '30000',
	};
	const processes = [
		await serviceProcess(redis.url, prefix, env),
		await serviceProcess(redis.url, prefix, env),
	];
	const sink = await recordingSink(() => processes.map((p) => p.url), {
		workMs: 1,
		failPermanently: (n) => n % 97 === 0,
	});
	const kills: number[] = [];
	const started = Date.now();
	try {
		for (const p of processes) await p.start();
		const api = (): string => processes[kills.length % 2].url;
		const batchKey = `chaos-${randomBytes(3).toString('hex')}`;
		await callApi(api(), 'POST', '/v1/batches', {
			batchKey,
			targetUrl: sink.url,
			chunkSize: 50,
			concurrency: 6,
			timeoutMs: 20_000,
		});
		const items = Array.from({ length: total }, (_, n) => ({ key: `item-${n}`, json: { n } }));
		for (let i = 0; i < total; i += 1000) {
			await callApi(api(), 'POST', `/v1/batches/${batchKey}/items`, {
				items: items.slice(i, i + 1000),
				pageId: `p${i}`,
			});
		}
		await callApi(api(), 'POST', `/v1/batches/${batchKey}/seal`);
		for (const at of [20, 60]) {
			for (let i = 0; i < 1200; i++) {
				const progress = await callApi(api(), 'GET', `/v1/batches/${batchKey}`).catch(() => null);
				if (progress && progress.percent >= at) break;
				await sleep(50);
			}
			kills.push(Date.now());
			await redis.kill('SIGKILL');
			await sleep(3_000 + Math.floor(Math.random() * 2_000));
			await redis.restart();
		}
		let progress: any;
		for (let i = 0; i < 60; i++) {
			const waited = await callApi(
				api(),
				'GET',
				`/v1/batches/${batchKey}/wait?timeoutMs=10000`,
			).catch(() => null);
			if (!waited) {
				await sleep(500);
				continue;
			}
			progress = waited.progress;
			if (waited.done) break;
		}
		const { succeeded, deadLettered } = progress.counts;
		const repeats = classifyRepeats(sink, kills);
		return {
			items: total,
			succeeded,
			deadLettered,
			lost: total - succeeded - deadLettered,
			duplicates: repeats.duplicates,
			unackedResends: repeats.unackedResends,
			redisKills: kills.length,
			seconds: (Date.now() - started) / 1000,
		};
	} finally {
		for (const p of processes) await p.kill('SIGKILL');
		await sink.close();
		await redis.stop();
	}
}

/** `npm run chaos -- kill-redis [--items N]` */
export async function run(args: string[]): Promise<void> {
	const at = args.indexOf('--items');
	const result = await killRedis({ items: at >= 0 ? Number(args[at + 1]) : undefined });
	console.log(JSON.stringify(result));
	console.log(
		`RESULT chaos scenario=kill-redis items=${result.items} lost=${result.lost} duplicates=${result.duplicates} unacked_resends=${result.unackedResends} dead_lettered=${result.deadLettered} redis_kills=${result.redisKills} seconds=${result.seconds}`,
	);
}
