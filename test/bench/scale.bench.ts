import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Redis } from 'ioredis';

import { installPaths } from '../../scripts/lib/n8n/install';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { packNodePackage } from '../../scripts/lib/n8n/pack';
import { encryptionKeyOf, prepareQueueMode } from '../../scripts/lib/n8n/queue';
import { startCampaignService } from '../harness/email-campaign';
import { startPrivateRedis, type PrivateRedis } from '../harness/redis';
import { startSmtpSink } from '../harness/smtp-sink';
import { sinkAlone } from './email-direct';
import { installTuned, measureCampaign, type RedisPair, type ScaleRun } from './scale';

const LATENCY_MS = 100;
const log = (message: string) => console.error(`[scale bench] ${message}`);

/**
 * `npm run bench -- scale [--recipients 10000] [--chunks 50,10] [--warmup 200] [--concurrency 64]
 * [--workers 0,1,2] [--n8n-env NAME=value,...]`: the e-mail campaign (shipped templates, n8n's
 * Send Email against the SMTP sink holding each message 100 ms) on three n8n layouts, same run,
 * same sink: one n8n process (0 workers), a main plus 1 worker, a main plus 2 workers. Every
 * layout is a fresh deployment on the local PostgreSQL (so only the process layout differs), with
 * a fresh service on a private Redis and n8n's Bull queue on a second private Redis, so each
 * Redis's cost is its own. `concurrency` chunk executions may run at once in every layout (the
 * service's and the template's limit; a worker takes as many). The second chunk size runs once
 * more on the last layout: two chunk sizes split n8n's CPU into a cost per chunk execution and a
 * cost per e-mail.
 */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: string) =>
		args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback;
	const size = Number(arg('recipients', '10000'));
	const [chunk, secondChunk] = arg('chunks', '50,10').split(',').map(Number);
	const warmup = Number(arg('warmup', '200'));
	const concurrency = Number(arg('concurrency', '64'));
	const layouts = arg('workers', '0,1,2').split(',').map(Number);
	// For trying n8n settings, e.g. --n8n-env DB_POSTGRESDB_POOL_SIZE=10
	const env = Object.fromEntries(
		arg('n8n-env', '')
			.split(',')
			.filter(Boolean)
			.map((pair) => pair.split('=')),
	) as NodeJS.ProcessEnv;
	const dir = mkdtempSync(join(tmpdir(), 'bg-scale-bench-'));
	log(`logs in ${dir}`);
	const sink = await startSmtpSink({ latencyMs: LATENCY_MS });
	const servers: PrivateRedis[] = [await startPrivateRedis(), await startPrivateRedis()];
	const [serviceRedis, n8nRedis] = servers;
	const redis: RedisPair = { service: new Redis(serviceRedis.url), n8n: new Redis(n8nRedis.url) };
	const tarball = await packNodePackage(join(dir, 'pack'));
	const runs: Record<string, ScaleRun> = {};
	try {
		const alone = await sinkAlone(sink, concurrency, 10 * concurrency);
		log(
			`sink alone: ${alone.msPerMessage} ms a message, ${alone.perMin}/min over ${concurrency} connections`,
		);
		const last = layouts[layouts.length - 1];
		for (const workers of layouts) {
			const layout = workers === 0 ? 'single' : `workers${workers}`;
			const deployment = await deploy(layout, workers, {
				dir,
				tarball,
				redisUrl: n8nRedis.url,
				concurrency,
				env,
			});
			const { n8n, database } = deployment;
			const service = await startCampaignService({
				redisUrl: serviceRedis.url,
				logFile: join(dir, `service-${layout}.log`),
				env: { DISPATCH_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn' },
			});
			try {
				const sizes = workers === last && secondChunk ? [chunk, secondChunk] : [chunk];
				for (const chunkSize of sizes) {
					const templates = await installTuned(n8n, service, sink, { chunkSize, concurrency });
					const campaign = { n8n, database, service, templates, sink, redis, chunkSize };
					// Warm-up: n8n compiles and caches on the first executions of a workflow.
					if (warmup > 0) await measureCampaign({ ...campaign, size: warmup });
					const name = chunkSize === chunk ? layout : `${layout}_chunk${chunkSize}`;
					runs[name] = await measureCampaign({ ...campaign, size });
					report(name, runs[name]);
				}
			} finally {
				await service.stop();
				await deployment.stop();
			}
		}
		console.log(JSON.stringify(runs));
		console.log(
			resultLine(runs, { size, chunk, secondChunk, concurrency, sinkPerMin: alone.perMin }),
		);
	} finally {
		redis.service.disconnect();
		redis.n8n.disconnect();
		await sink.close();
		for (const server of servers) await server.stop();
	}
}

function resultLine(
	runs: Record<string, ScaleRun>,
	options: {
		size: number;
		chunk: number;
		secondChunk?: number;
		concurrency: number;
		sinkPerMin: number;
	},
): string {
	const layouts = ['single', 'workers1', 'workers2'].filter((name) => runs[name]);
	const fields = [
		...layouts.map((name) => `${name}_per_min=${Math.round(runs[name].perMin)}`),
		`recipients=${options.size}`,
		`chunk=${options.chunk}`,
		`concurrency=${options.concurrency}`,
		...layouts.map(
			(name) =>
				`cpu_s_per_1000_${name}=${Object.entries(perThousand(runs[name]))
					.map(([process, seconds]) => `${process}:${seconds.toFixed(2)}`)
					.join(',')}`,
		),
	];
	const largest = layouts[layouts.length - 1];
	const small = runs[`${largest}_chunk${options.secondChunk}`];
	if (largest && small) {
		const split = perExecutionSplit(runs[largest], small);
		fields.push(
			`n8n_cpu_ms_per_execution=${split.perExecutionMs.toFixed(1)}`,
			`n8n_cpu_ms_per_email=${split.perEmailMs.toFixed(2)}`,
		);
	}
	if (largest) {
		const run = runs[largest];
		fields.push(
			`redis_commands_per_email=${(run.redis.service.commands / run.recipients).toFixed(1)}`,
			`bull_commands_per_email=${(run.redis.n8n.commands / run.recipients).toFixed(1)}`,
		);
	}
	fields.push(`sink_alone_per_min=${options.sinkPerMin}`);
	return `RESULT scale ${fields.join(' ')}`;
}

/**
 * A fresh n8n with the package and a PostgreSQL database of its own: `workers` 0 is one process
 * (regular mode) on PostgreSQL like the queue-mode layouts (n8n's default SQLite would change two
 * things at once).
 */
async function deploy(
	layout: string,
	workers: number,
	options: {
		dir: string;
		tarball: string;
		redisUrl: string;
		concurrency: number;
		env: NodeJS.ProcessEnv;
	},
): Promise<{ n8n: N8nInstance; database: string; stop(): Promise<void> }> {
	const userFolder = join(options.dir, `n8n-${layout}`);
	const common = {
		userFolder,
		packageTarball: options.tarball,
		logFile: join(options.dir, `n8n-${layout}.log`),
		env: options.env,
		log,
	};
	if (workers > 0) {
		const n8n = await startN8n({
			...common,
			queue: {
				workers,
				redisUrl: options.redisUrl,
				concurrency: options.concurrency,
				workerLogLevel: 'warn',
			},
		});
		return { n8n, database: n8n.queue!.database, stop: n8n.stop };
	}
	const setup = await prepareQueueMode(
		{ workers: 0, redisUrl: options.redisUrl },
		installPaths().n8nDir,
		encryptionKeyOf(userFolder),
	);
	const n8n = await startN8n({
		...common,
		env: { ...setup.env, EXECUTIONS_MODE: 'regular', ...options.env },
	});
	return {
		n8n,
		database: setup.database,
		stop: async () => {
			await n8n.stop();
			await setup.cleanup();
		},
	};
}

/** CPU seconds per 1,000 e-mails, per process. */
function perThousand(run: ScaleRun): Record<string, number> {
	return Object.fromEntries(
		Object.entries(run.cpuSeconds).map(([name, seconds]) => [
			name,
			(seconds / run.recipients) * 1000,
		]),
	);
}

const n8nCpu = (run: ScaleRun) =>
	Object.entries(run.cpuSeconds)
		.filter(([name]) => name === 'main' || name.startsWith('worker-'))
		.reduce((sum, [, seconds]) => sum + seconds, 0);

/**
 * n8n CPU = executions x a + e-mails x b, from two runs of the same size at two chunk sizes:
 * a is the cost of a chunk execution whatever it holds, b the cost of one e-mail in it.
 */
function perExecutionSplit(large: ScaleRun, small: ScaleRun) {
	const perExecution = (n8nCpu(small) - n8nCpu(large)) / (small.executions - large.executions);
	const perEmail = (n8nCpu(large) - perExecution * large.executions) / large.recipients;
	return { perExecutionMs: perExecution * 1000, perEmailMs: perEmail * 1000 };
}

function report(name: string, run: ScaleRun): void {
	const cpu = Object.entries(perThousand(run))
		.map(([process, seconds]) => `${process} ${seconds.toFixed(2)}`)
		.join(', ');
	const redis = (label: string, cost: ScaleRun['redis']['service']) =>
		`${label}: ${(cost.commands / run.recipients).toFixed(1)} commands (${(cost.scripts / run.recipients).toFixed(2)} scripts), ` +
		`${((cost.cpuSeconds / run.recipients) * 1e6).toFixed(0)} µs CPU, ` +
		`${((cost.netInBytes + cost.netOutBytes) / run.recipients).toFixed(0)} B on the wire per e-mail, ` +
		`peak +${(cost.peakMemoryBytes / 1024 / 1024).toFixed(1)} MB`;
	log(
		`${name}: ${run.recipients} e-mails in ${run.seconds.toFixed(1)} s = ${Math.round(run.perMin)}/min, ` +
			`chunk ${run.chunkSize} (${run.executions} executions), ${Math.round(run.inFlightItems)} e-mails in flight on average, ` +
			`machine CPU ${Math.round(run.machineBusy * 100)} % busy; CPU s per 1,000 e-mails: ${cpu}`,
	);
	log(
		`  ${redis('service Redis', run.redis.service)}; ${redis("n8n's Bull Redis", run.redis.n8n)}`,
	);
	log(
		`  batch keys: ${(run.batchBytes.pending / run.recipients).toFixed(0)} B per e-mail once taken in, ` +
			`${(run.batchBytes.finished / run.recipients).toFixed(0)} B when finished; n8n's PostgreSQL: ` +
			`${(run.postgres.commits / run.executions).toFixed(1)} commits, ` +
			`${(run.postgres.rowsWritten / run.executions).toFixed(1)} rows written, ` +
			`${(run.postgres.growthBytes / run.executions / 1024).toFixed(1)} KB growth per chunk execution`,
	);
}
