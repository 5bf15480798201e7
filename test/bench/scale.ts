/**
 * What the scale benchmark measures in one run of the e-mail campaign (the shipped intake and
 * worker templates, tuned as the e-mail bench tunes them) on one n8n layout: e-mails per minute,
 * CPU seconds of every process (n8n main, each worker, the service), and what the campaign cost
 * the two Redis servers (the service's, n8n's Bull queue's): commands, script runs, CPU, network
 * and memory, read from INFO before and after, and the batch's own keys by MEMORY USAGE; and
 * what n8n wrote to its PostgreSQL database (pg_stat_database).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';

import { Redis } from 'ioredis';

import type { N8nInstance } from '../../scripts/lib/n8n/instance';
import { LOCAL_POSTGRES } from '../../scripts/lib/n8n/postgres';
import { sleep } from '../../scripts/lib/process';
import {
	deliveries,
	installCampaignTemplates,
	postCampaign,
	recipients,
	serviceClient,
	TERMINAL,
	type CampaignService,
	type CampaignTemplates,
	type Progress,
	type ServiceClient,
} from '../harness/email-campaign';
import type { SmtpSink } from '../harness/smtp-sink';
import { groupCpuSeconds } from './email-direct';

export interface RedisCost {
	commands: number;
	/** EVALSHA/EVAL/FCALL calls: each is one atomic script run (its inner commands are in `commands`). */
	scripts: number;
	cpuSeconds: number;
	netInBytes: number;
	netOutBytes: number;
	/** Highest used_memory seen during the run, above where it started. */
	peakMemoryBytes: number;
}

/** What n8n did to its database over a run, from pg_stat_database. */
export interface PostgresCost {
	commits: number;
	rowsWritten: number;
	growthBytes: number;
}

export interface ScaleRun {
	recipients: number;
	chunkSize: number;
	/** Chunk executions of the worker workflow (recipients / chunk size, rounded up). */
	executions: number;
	/** From the intake call until the service's long-poll said the batch ended. */
	seconds: number;
	perMin: number;
	/** CPU seconds per process group over the run: main, worker-N, service, postgres (the server). */
	cpuSeconds: Record<string, number>;
	redis: { service: RedisCost; n8n: RedisCost };
	postgres: PostgresCost;
	/** Items leased to chunk executions, averaged over the sending (once a second). */
	inFlightItems: number;
	/** Share of the machine's CPU time (all cores, everyone's processes) that was busy. */
	machineBusy: number;
	/** MEMORY USAGE (SAMPLES 0) of the batch's keys once the intake answered, and at the end. */
	batchBytes: { pending: number; finished: number };
}

/** The service's and n8n's Redis, each watched for the cost of one run. */
export interface RedisPair {
	service: Redis;
	n8n: Redis;
}

async function info(redis: Redis) {
	const text = await redis.info('all');
	const field = (name: string) =>
		Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)?.[1] ?? 0);
	const scripts = [...text.matchAll(/^cmdstat_(?:evalsha|eval|fcall):calls=(\d+)/gm)].reduce(
		(sum, m) => sum + Number(m[1]),
		0,
	);
	return {
		commands: field('total_commands_processed'),
		scripts,
		cpuSeconds: field('used_cpu_user') + field('used_cpu_sys'),
		netInBytes: field('total_net_input_bytes'),
		netOutBytes: field('total_net_output_bytes'),
		usedMemory: field('used_memory'),
	};
}

/** Watches a Redis from now: `stop()` answers what happened on it since (minus its own INFO calls). */
function watchRedis(redis: Redis) {
	let running = true;
	const sampled = (async () => {
		const before = await info(redis);
		let peak = before.usedMemory;
		let polls = 1;
		while (running) {
			await sleep(250);
			peak = Math.max(peak, (await info(redis)).usedMemory);
			polls++;
		}
		return { before, peak, polls };
	})();
	return async (): Promise<RedisCost> => {
		running = false;
		const { before, peak, polls } = await sampled;
		const after = await info(redis);
		return {
			commands: after.commands - before.commands - polls,
			scripts: after.scripts - before.scripts,
			cpuSeconds: after.cpuSeconds - before.cpuSeconds,
			netInBytes: after.netInBytes - before.netInBytes,
			netOutBytes: after.netOutBytes - before.netOutBytes,
			peakMemoryBytes: peak - before.usedMemory,
		};
	};
}

/** Bytes the batch's own keys take (hash tag `{batchId}`), exact (SAMPLES 0). */
async function batchBytes(redis: Redis, keyPrefix: string, batchId: string): Promise<number> {
	let total = 0;
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:batch:{${batchId}}*`);
		cursor = next;
		for (const key of keys) total += Number(await redis.memory('USAGE', key, 'SAMPLES', 0)) || 0;
	} while (cursor !== '0');
	return total;
}

async function postgresStats(database: string): Promise<PostgresCost> {
	const sql =
		'SELECT xact_commit, tup_inserted + tup_updated + tup_deleted, pg_database_size(datname) ' +
		`FROM pg_stat_database WHERE datname = '${database}'`;
	const { host, port, user } = LOCAL_POSTGRES;
	const { stdout } = await promisify(execFile)('psql', [
		...['-h', host, '-p', String(port), '-U', user, '-d', 'postgres', '-Atc', sql],
	]);
	const [commits, rowsWritten, growthBytes] = stdout.trim().split('|').map(Number);
	return { commits, rowsWritten, growthBytes };
}

/** The templates in this n8n against this service and sink, limits out of the way. */
export async function installTuned(
	n8n: N8nInstance,
	service: CampaignService,
	sink: SmtpSink,
	tuning: { chunkSize: number; concurrency: number },
): Promise<CampaignTemplates> {
	return await installCampaignTemplates(n8n, {
		service,
		smtp: sink,
		patch: (_file, node) => {
			if (node.type.endsWith('.splitIntoChunks')) {
				Object.assign(node.parameters.options as object, tuning);
			}
			if (node.type.endsWith('.rateLimit')) {
				Object.assign(node.parameters, { capacity: 100_000, refillAmount: 100_000 });
			}
		},
	});
}

/** The batch's items in flight, read once a second until stopped: their mean. */
function sampleInFlight(api: ServiceClient, batchId: string) {
	const samples: number[] = [];
	let running = true;
	const loop = (async () => {
		while (running) {
			const progress = await api
				.request<Progress>('GET', `/v1/batches/${batchId}`)
				.catch(() => undefined);
			if (progress && !TERMINAL.includes(progress.state)) samples.push(progress.counts.inFlight);
			await sleep(1000);
		}
	})();
	return {
		async stop() {
			running = false;
			await loop;
			return samples.reduce((sum, n) => sum + n, 0) / Math.max(1, samples.length);
		},
	};
}

/** Busy share of all cores from /proc/stat, from now until stopped. */
function machineCpu() {
	const read = () => {
		const [, ...ticks] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
		const values = ticks.map(Number);
		// idle and iowait are the 4th and 5th; steal (8th) is time the machine did not get.
		return { idle: values[3] + values[4], total: values.reduce((sum, n) => sum + n, 0) };
	};
	const before = read();
	return {
		stop() {
			const after = read();
			return 1 - (after.idle - before.idle) / (after.total - before.total);
		},
	};
}

/** CPU seconds of every process named `postgres`: the whole server, whoever it worked for. */
function postgresCpuSeconds(): number {
	let ticks = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			if (!stat.includes('(postgres)')) continue;
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			ticks += Number(fields[11]) + Number(fields[12]);
		} catch {
			// The process ended between listing and reading.
		}
	}
	return ticks / 100;
}

/** CPU seconds of n8n's processes (main, then its workers by name), the service's and PostgreSQL's. */
const readCpu = (n8n: N8nInstance, service: CampaignService): Record<string, number> => ({
	main: groupCpuSeconds(n8n.main.pid),
	...Object.fromEntries(n8n.workers.map((w) => [w.name, groupCpuSeconds(w.pid)])),
	service: groupCpuSeconds(service.pid),
	postgres: postgresCpuSeconds(),
});

/**
 * One campaign of `size` recipients; fails unless the sink got every one exactly once. The
 * service must be fresh for the layout (its CPU is read from its process group).
 */
export async function measureCampaign(options: {
	n8n: N8nInstance;
	/** n8n's PostgreSQL database. */
	database: string;
	service: CampaignService;
	templates: CampaignTemplates;
	sink: SmtpSink;
	redis: RedisPair;
	size: number;
	chunkSize: number;
}): Promise<ScaleRun> {
	const { n8n, database, service, templates, sink, redis, size, chunkSize } = options;
	const campaignId = `scale-${randomBytes(4).toString('hex')}`;
	const subject = `Scale ${campaignId}`;
	const list = recipients(size, `${campaignId}-`);
	const watched = { service: watchRedis(redis.service), n8n: watchRedis(redis.n8n) };
	const postgresBefore = await postgresStats(database);
	const cpuBefore = readCpu(n8n, service);
	const machine = machineCpu();
	const started = performance.now();
	const answer = await postCampaign(
		n8n,
		templates,
		{ campaignId, subject, text: 'Hello!', recipients: list },
		600_000,
	);
	if (answer.status !== 200) {
		throw new Error(`intake answered ${answer.status}: ${JSON.stringify(answer.body)}`);
	}
	const pending = await batchBytes(redis.service, service.keyPrefix, campaignId);
	const api = serviceClient(service);
	const inFlight = sampleInFlight(api, campaignId);
	for (;;) {
		const path = `/v1/batches/${campaignId}/wait?timeoutMs=30000`;
		if ((await api.request<{ done: boolean }>('GET', path)).done) break;
	}
	const seconds = (performance.now() - started) / 1000;
	const cpuAfter = readCpu(n8n, service);
	const machineBusy = machine.stop();
	const cost = { service: await watched.service(), n8n: await watched.n8n() };
	// PostgreSQL publishes a backend's counts within a second of its transaction.
	await sleep(1500);
	const postgresAfter = await postgresStats(database);
	const delivered = deliveries(sink, subject);
	const wrong = list.filter((email) => delivered.get(email) !== 1);
	if (wrong.length > 0) {
		throw new Error(
			`${wrong.length} of ${size} recipients not delivered exactly once, e.g. ${wrong[0]}`,
		);
	}
	return {
		recipients: size,
		chunkSize,
		executions: Math.ceil(size / chunkSize),
		seconds,
		perMin: (size / seconds) * 60,
		cpuSeconds: Object.fromEntries(
			Object.entries(cpuAfter).map(([name, cpu]) => [name, cpu - cpuBefore[name]]),
		),
		redis: cost,
		postgres: {
			commits: postgresAfter.commits - postgresBefore.commits,
			rowsWritten: postgresAfter.rowsWritten - postgresBefore.rowsWritten,
			growthBytes: postgresAfter.growthBytes - postgresBefore.growthBytes,
		},
		inFlightItems: await inFlight.stop(),
		machineBusy,
		batchBytes: {
			pending,
			finished: await batchBytes(redis.service, service.keyPrefix, campaignId),
		},
	};
}
