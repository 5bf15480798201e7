import { resolveTestRedis } from '../harness/redis';
import { startSmtpSink } from '../harness/smtp-sink';
import { directCampaign, sinkAlone, workerCampaign, type CampaignRun } from './email-direct';
import { benchStack, log } from './n8n-bench';

/**
 * `npm run bench -- email-direct [--recipients 10000] [--pool 100] [--worker-recipients 2000]`: the sink
 * (100 ms a message) measured alone first, then the same campaign through
 * email-campaign-direct.json (the service sends every e-mail itself) and, same run, same sink,
 * same fresh n8n, through the worker-workflow templates (n8n's Send Email). Prints e-mails/min,
 * the phases and the CPU n8n and the service used in each.
 */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: number) =>
		args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
	const count = arg('--recipients', 10_000);
	const pool = arg('--pool', 100);
	const stack = await benchStack('email-direct');
	const sink = await startSmtpSink({ latencyMs: 100 });
	const redis = await resolveTestRedis();
	const n8n = await stack.n8n('n8n-email');
	try {
		const alone = await sinkAlone(sink, pool, 10 * pool);
		log(
			`sink alone: ${alone.msPerMessage} ms a message, ${alone.perMin}/min over ${pool} connections`,
		);
		const options = {
			n8n,
			n8nPid: n8n.main.pid,
			sink,
			redisUrl: redis.url,
			dir: stack.dir,
			recipients: count,
			pool,
		};
		const direct = await directCampaign(options);
		report('direct', direct);
		// The worker path sends a few thousand a minute: its rate and CPU show over fewer recipients.
		const workerCount = arg('--worker-recipients', Math.min(count, 2000));
		const worker =
			workerCount > 0 ? await workerCampaign({ ...options, recipients: workerCount }) : undefined;
		if (worker) report('worker', worker);
		const workerPart = worker
			? ` worker_per_min=${worker.perMin} worker_recipients=${worker.recipients} worker_n8n_cpu_pct=${worker.n8nCpuPercent} speedup=${(direct.perMin / worker.perMin).toFixed(2)}`
			: '';
		log(
			`RESULT email-direct direct_per_min=${direct.perMin} direct_send_per_min=${direct.sendPerMin} direct_n8n_cpu_pct=${direct.n8nCpuPercent} direct_service_cpu_pct=${direct.serviceCpuPercent} duplicates=${direct.duplicates}${workerPart} recipients=${count} sink_alone_per_min=${alone.perMin} sink_ms=${alone.msPerMessage} pool=${pool}`,
		);
	} finally {
		await n8n.stop();
		await sink.close();
		await stack.stop();
	}
}

function report(path: string, run: CampaignRun): void {
	const nodes = Object.entries(run.intake.nodeMs)
		.filter(([, ms]) => ms >= 50)
		.sort(([, a], [, b]) => b - a)
		.map(([node, ms]) => `${node} ${(ms / 1000).toFixed(1)} s`)
		.join(', ');
	log(
		`${path}: ${run.recipients} recipients in ${run.seconds.toFixed(1)} s = ${run.perMin}/min end to end (sending ${run.sendPerMin}/min), ${run.delivered} delivered, ${run.duplicates} duplicates; CPU n8n ${run.n8nCpuPercent} %, service ${run.serviceCpuPercent} % of a core (per e-mail: n8n ${run.n8nCpuMsPerEmail.toFixed(2)} ms, service ${run.serviceCpuMsPerEmail.toFixed(2)} ms)`,
	);
	log(
		`  intake until the webhook answered: ${run.intake.seconds.toFixed(1)} s, CPU n8n ${run.intake.n8nCpuPercent} %, service ${run.intake.serviceCpuPercent} %; intake nodes: ${nodes}`,
	);
	log(
		`  then until the batch ended: ${run.sending.seconds.toFixed(1)} s, CPU n8n ${run.sending.n8nCpuPercent} %, service ${run.sending.serviceCpuPercent} %`,
	);
}
