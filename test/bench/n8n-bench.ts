/**
 * What the n8n benchmarks (etl, loop) share: the companion service on a Redis, the packed node
 * package, a fresh n8n per measured run (so one run's memory never counts for the next), and
 * the peak RSS of n8n's whole process group (main process and its task runners), sampled.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { packNodePackage } from '../../scripts/lib/n8n/pack';
import { freePort } from '../../scripts/lib/process';
import { startCompanionService, type RunningService } from '../../scripts/lib/service';
import { resolveTestRedis } from '../harness/redis';
import { deleteByPrefix } from '../harness/service';
import { createRedis } from '../../service/src/redis/connection';

export interface BenchStack {
	dir: string;
	tarball: string;
	service: RunningService;
	/** A fresh n8n with this package; stop it after the run. */
	n8n(name: string, env?: NodeJS.ProcessEnv): Promise<N8nInstance>;
	stop(): Promise<void>;
}

export const log = (message: string) => console.log(message);

export async function benchStack(name: string): Promise<BenchStack> {
	const dir = mkdtempSync(join(tmpdir(), `bg-bench-${name}-`));
	const redis = await resolveTestRedis();
	const keyPrefix = `bg-bench-${randomBytes(4).toString('hex')}`;
	const tarball = await packNodePackage(join(dir, 'pack'));
	const service = await startCompanionService({
		port: await freePort(),
		redisUrl: redis.url,
		apiKey: randomBytes(24).toString('hex'),
		keyPrefix,
		logLevel: 'warn',
		logFile: join(dir, 'service.log'),
	});
	log(`${name}: service ${service.url}, logs in ${dir}`);
	return {
		dir,
		tarball,
		service,
		n8n: (run, env = {}) =>
			startN8n({
				packageTarball: tarball,
				userFolder: join(dir, run),
				logFile: join(dir, `${run}.log`),
				env,
			}),
		async stop() {
			await service.stop();
			const cleaner = createRedis({ url: redis.url });
			await deleteByPrefix({ redis: cleaner }, keyPrefix);
			await cleaner.quit();
			await redis.own?.stop();
		},
	};
}

/** The Batch Guardian credential in a bench n8n, named as the templates name it. */
export async function serviceCredential(n8n: N8nInstance, service: RunningService) {
	const name = 'Batch Guardian (local)';
	const data = { baseUrl: service.url, apiKey: service.apiKey };
	return { name, id: await n8n.createCredential({ name, type: 'batchGuardianApi', data }) };
}

/** RSS of every process in a process group, in MB, from /proc. */
export function groupRssMb(pgid: number): number {
	let kb = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// Fields after the command (which may hold spaces): state, ppid, pgrp, ...
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (Number(fields[2]) !== pgid) continue;
			const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${entry}/status`, 'utf8'));
			kb += rss ? Number(rss[1]) : 0;
		} catch {
			// The process ended between listing and reading.
		}
	}
	return kb / 1024;
}

/** Samples n8n's group RSS every 250 ms until stopped; `peak` is the highest sum seen. */
export function sampleRss(n8n: N8nInstance): { peak(): number; stop(): number } {
	let peak = groupRssMb(n8n.main.pid);
	const timer = setInterval(() => {
		peak = Math.max(peak, groupRssMb(n8n.main.pid));
	}, 250);
	return {
		peak: () => peak,
		stop() {
			clearInterval(timer);
			return peak;
		},
	};
}

export const round = (value: number, digits = 2) => Number(value.toFixed(digits));
