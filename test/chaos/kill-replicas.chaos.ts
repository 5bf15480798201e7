import { randomBytes } from 'node:crypto';

import { startPrivateRedis } from '../harness/redis';
import { callApi, classifyRepeats, randomBetween, recordingSink, serviceProcess } from './fleet';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface KillReplicasResult {
	items: number;
	succeeded: number;
	deadLettered: number;
	lost: number;
	duplicates: number;
	unackedResends: number;
	kills: number;
	seconds: number;
}

/**
 * Three service processes share one batch; in each of `rounds` rounds a random one is killed -9 at
 * a random moment and started again. The worker honours idempotency keys and records through
 * Record Results on whichever process answers. Redis (AOF, fsync always) is never killed here, so
 * every repeat after an acknowledged success counts as a duplicate.
 */
export async function killReplicas(
	options: { items?: number; rounds?: number } = {},
): Promise<KillReplicasResult> {
	const total = options.items ?? 5000;
	const rounds = options.rounds ?? 20;
	const redis = await startPrivateRedis({ aof: true });
	const prefix = `chaos-${randomBytes(4).toString('hex')}`;
	const env = { DISPATCH_LOCK_MS: '2000', LEASE_GRACE_MS: '2000', DISPATCH_CONCURRENCY: '4' };
	const processes = await Promise.all([0, 1, 2].map(() => serviceProcess(redis.url, prefix, env)));
	const down = new Set<number>();
	const alive = () => processes.filter((_, i) => !down.has(i)).map((p) => p.url);
	const sink = await recordingSink(alive, { workMs: 3, failPermanently: (n) => n % 101 === 0 });
	const started = Date.now();
	try {
		for (const p of processes) await p.start();
		const api = (): string => alive()[0];
		const batchKey = `chaos-${randomBytes(3).toString('hex')}`;
		await callApi(api(), 'POST', '/v1/batches', {
			batchKey,
			targetUrl: sink.url,
			chunkSize: 25,
			concurrency: 6,
			timeoutMs: 5_000,
		});
		const items = Array.from({ length: total }, (_, n) => ({ key: `item-${n}`, json: { n } }));
		for (let i = 0; i < total; i += 1000) {
			await callApi(api(), 'POST', `/v1/batches/${batchKey}/items`, {
				items: items.slice(i, i + 1000),
				pageId: `p${i}`,
			});
		}
		await callApi(api(), 'POST', `/v1/batches/${batchKey}/seal`);
		let kills = 0;
		for (let round = 0; round < rounds; round++) {
			await sleep(randomBetween(100, 1500));
			const victim = randomBetween(0, 3);
			down.add(victim);
			await processes[victim].kill('SIGKILL');
			kills++;
			await sleep(randomBetween(50, 500));
			await processes[victim].start();
			down.delete(victim);
		}
		let progress: any;
		for (let i = 0; i < 60; i++) {
			const waited = await callApi(api(), 'GET', `/v1/batches/${batchKey}/wait?timeoutMs=10000`);
			progress = waited.progress;
			if (waited.done) break;
		}
		const { succeeded, deadLettered } = progress.counts;
		const repeats = classifyRepeats(sink, []);
		return {
			items: total,
			succeeded,
			deadLettered,
			lost: total - succeeded - deadLettered,
			duplicates: repeats.duplicates,
			unackedResends: repeats.unackedResends,
			kills,
			seconds: (Date.now() - started) / 1000,
		};
	} finally {
		for (const p of processes) await p.kill('SIGKILL');
		await sink.close();
		await redis.stop();
	}
}

/** `npm run chaos -- kill-replicas [--items N] [--rounds N]` */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? Number(args[at + 1]) : undefined;
	};
	const result = await killReplicas({ items: arg('items'), rounds: arg('rounds') });
	console.log(JSON.stringify(result));
	console.log(
		`RESULT chaos scenario=kill-replicas items=${result.items} lost=${result.lost} duplicates=${result.duplicates} unacked_resends=${result.unackedResends} dead_lettered=${result.deadLettered} kills=${result.kills} seconds=${result.seconds}`,
	);
}
