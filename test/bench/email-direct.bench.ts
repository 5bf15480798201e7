import { resolveTestRedis } from '../harness/redis';
import { startSmtpSink } from '../harness/smtp-sink';
import { directCampaign, sinkAlone } from './email-direct';
import { benchStack, log } from './n8n-bench';

/**
 * `npm run bench -- email-direct [--recipients 10000] [--pool 100]`: the direct path alone (the
 * e-mail bench runs it beside the worker-workflow path): the sink (100 ms a message) measured
 * alone first, then a campaign through email-campaign-direct.json in a fresh n8n, the service
 * sending every e-mail itself. Prints e-mails/min and the CPU n8n and the service used.
 */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: number) =>
		args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback;
	const count = arg('--recipients', 10_000);
	const pool = arg('--pool', 100);
	const stack = await benchStack('email-direct');
	const sink = await startSmtpSink({ latencyMs: 100 });
	const redis = await resolveTestRedis();
	const n8n = await stack.n8n('n8n-direct');
	try {
		const alone = await sinkAlone(sink, pool, 5 * pool);
		log(
			`sink alone: ${alone.msPerMessage} ms a message, ${alone.perMin}/min over ${pool} connections`,
		);
		const direct = await directCampaign({
			n8n,
			n8nPid: n8n.main.pid,
			sink,
			redisUrl: redis.url,
			dir: stack.dir,
			recipients: count,
			pool,
		});
		const nodes = Object.entries(direct.intake.nodeMs)
			.sort(([, a], [, b]) => b - a)
			.map(([node, ms]) => `${node} ${(ms / 1000).toFixed(1)} s`)
			.join(', ');
		log(
			`direct intake (n8n takes the campaign in, Split Into Chunks uploads it): ${direct.intake.seconds.toFixed(1)} s, CPU n8n ${direct.intake.n8nCpuPercent} %, service ${direct.intake.serviceCpuPercent} %; n8n's nodes: ${nodes}`,
		);
		log(
			`direct sending after the intake answered: ${direct.sending.seconds.toFixed(1)} s, CPU n8n ${direct.sending.n8nCpuPercent} %, service ${direct.sending.serviceCpuPercent} %`,
		);
		log(
			`direct: ${direct.recipients} recipients in ${direct.seconds.toFixed(1)} s = ${direct.perMin}/min end to end (sending ${direct.sendPerMin}/min), ${direct.duplicates} duplicates; CPU n8n ${direct.n8nCpuPercent} %, service ${direct.serviceCpuPercent} % of a core`,
		);
		log(
			`RESULT email-direct direct_per_min=${direct.perMin} direct_send_per_min=${direct.sendPerMin} recipients=${direct.recipients} delivered=${direct.delivered} duplicates=${direct.duplicates} n8n_cpu_pct=${direct.n8nCpuPercent} service_cpu_pct=${direct.serviceCpuPercent} sink_alone_per_min=${alone.perMin} sink_ms=${alone.msPerMessage} pool=${pool}`,
		);
	} finally {
		await n8n.stop();
		await sink.close();
		await stack.stop();
	}
}
