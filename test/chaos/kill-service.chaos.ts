import { randomBytes } from 'node:crypto';

import { startPrivateRedis } from '../harness/redis';
import { callApi, recordingSink, serviceProcess, type ServiceProcess } from './fleet';

export interface KillServiceResult {
	items: number;
	succeeded: number;
	deadLettered: number;
	lost: number;
	duplicates: number;
	recordedTwice: number;
	/** Items leased to attempts in flight when the process was killed. */
	inFlightAtKill: number;
	seconds: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * kill -9 of a service process mid-batch, against a private Redis with AOF.
 * `--replicas 1` (default): the only process is killed, then started again on the same port.
 * `--replicas 2`: two processes share the batch; one is killed and stays dead.
 * Lost = submitted items neither succeeded nor dead-lettered; duplicates = deliveries of a key the
 * sink had already applied and recorded.
 */
export async function killService(
	options: { items?: number; replicas?: number } = {},
): Promise<KillServiceResult> {
	const total = options.items ?? 2000;
	const replicas = options.replicas ?? 1;
	const redis = await startPrivateRedis({ aof: true });
	const prefix = `chaos-${randomBytes(4).toString('hex')}`;
	// Short lock and lease grace so takeover happens within seconds, not the production 30 s.
	const env = { DISPATCH_LOCK_MS: '2000', LEASE_GRACE_MS: '1000', DISPATCH_CONCURRENCY: '8' };
	const processes: ServiceProcess[] = [];
	for (let i = 0; i < replicas; i++) processes.push(await serviceProcess(redis.url, prefix, env));
	let alive = processes.slice();
	const sink = await recordingSink(() => alive.map((p) => p.url), {
		workMs: 2,
		failPermanently: (n) => n % 97 === 0,
	});
	const started = Date.now();
	try {
		for (const p of processes) await p.start();
		const victim = processes[0];
		const api = () => alive[alive.length - 1].url;
		const batchKey = `chaos-${randomBytes(3).toString('hex')}`;
		await callApi(api(), 'POST', '/v1/batches', {
			batchKey,
			targetUrl: sink.url,
			chunkSize: 50,
			concurrency: 6,
			timeoutMs: 5000,
		});
		const items = Array.from({ length: total }, (_, n) => ({ key: `item-${n}`, json: { n } }));
		for (let i = 0; i < total; i += 1000) {
			await callApi(api(), 'POST', `/v1/batches/${batchKey}/items`, {
				items: items.slice(i, i + 1000),
			});
		}
		await callApi(api(), 'POST', `/v1/batches/${batchKey}/seal`);
		// Kill mid-batch: once about a third of the items are finished, chunks surely in flight.
		let inFlightAtKill = 0;
		for (let i = 0; i < 600; i++) {
			const progress = await callApi(api(), 'GET', `/v1/batches/${batchKey}`);
			inFlightAtKill = progress.counts.inFlight;
			if (progress.percent >= 30) break;
			await sleep(50);
		}
		await victim.kill('SIGKILL');
		alive = alive.filter((p) => p !== victim);
		if (replicas === 1) {
			await sleep(300);
			await victim.start();
			alive = [victim];
		}
		let progress: any;
		for (let i = 0; i < 20; i++) {
			const waited = await callApi(api(), 'GET', `/v1/batches/${batchKey}/wait?timeoutMs=10000`);
			progress = waited.progress;
			if (waited.done) break;
		}
		const { succeeded, deadLettered } = progress.counts;
		return {
			items: total,
			succeeded,
			deadLettered,
			lost: total - succeeded - deadLettered,
			duplicates: sink.duplicates,
			recordedTwice: [...sink.recorded.values()].filter((count) => count > 1).length,
			inFlightAtKill,
			seconds: (Date.now() - started) / 1000,
		};
	} finally {
		for (const p of processes) await p.kill('SIGKILL');
		await sink.close();
		await redis.stop();
	}
}

/** `npm run chaos -- kill-service [--items N] [--replicas 1|2]` */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? Number(args[at + 1]) : undefined;
	};
	const result = await killService({ items: arg('items'), replicas: arg('replicas') });
	console.log(JSON.stringify(result));
	console.log(
		`RESULT chaos scenario=kill-service items=${result.items} lost=${result.lost} duplicates=${result.duplicates} recorded_twice=${result.recordedTwice} in_flight_at_kill=${result.inFlightAtKill} dead_lettered=${result.deadLettered} seconds=${result.seconds}`,
	);
}
