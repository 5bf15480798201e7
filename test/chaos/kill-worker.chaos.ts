import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import type { N8nInstance } from '../../scripts/lib/n8n/instance';
import type { N8nProcess } from '../../scripts/lib/n8n/process';
import type { Log } from '../../scripts/lib/process';
import { resolveTestRedis, type PrivateRedis } from '../harness/redis';
import {
	killN8nDuringCampaign,
	resultLine,
	startKillN8nStack,
	type KillN8nResult,
	type KillN8nStack,
} from './kill-n8n.chaos';

/**
 * kill -9 of one n8n queue-mode worker (its process group: worker and task runner) in the middle
 * of an e-mail campaign, then a restart of that worker. n8n 2.x does not run a dead worker's
 * executions again; the service's leases do: the cut-off chunks are re-dispatched (retry) or
 * their items held as in_doubt (hold). The campaign, the kill timing and every count are the
 * kill-n8n scenario's, measured at the SMTP sink per recipient; only the victim differs.
 */
export interface KillWorkerResult extends KillN8nResult {
	victim: string;
	/** Executions each worker had started by the kill (from its log), victim first. */
	startedByKill: Record<string, number>;
}

export interface KillWorkerStack extends KillN8nStack {
	/** The worker that is killed; the others go on. */
	victim: N8nProcess;
}

/** kill-n8n's stack, with n8n as a main process plus `workers` workers (2 unless told). */
export async function startKillWorkerStack(options: {
	dir: string;
	tarball?: string;
	redisUrl: string;
	workers?: number;
	log?: Log;
}): Promise<KillWorkerStack> {
	const stack = await startKillN8nStack({ ...options, workers: options.workers ?? 2 });
	return { ...stack, victim: stack.n8n.workers[0] };
}

const startedExecutions = (worker: N8nProcess) =>
	readFileSync(worker.logFile, 'utf8').match(/Worker started execution \d+/g)?.length ?? 0;

/**
 * The kill-n8n campaign with the victim worker in the place of n8n's process: the scenario kills
 * and restarts `n8n.main`, so it gets a view of the deployment whose `main` is that worker (every
 * other property and method is the deployment's own).
 */
export async function killWorkerDuringCampaign(
	stack: KillWorkerStack,
	options: { inDoubt: 'hold' | 'retry'; recipients: number; log?: Log },
): Promise<KillWorkerResult> {
	const startedByKill: Record<string, number> = {};
	const victim: N8nProcess = Object.create(stack.victim, {
		kill: {
			value: async (signal?: NodeJS.Signals) => {
				for (const worker of [stack.victim, ...stack.n8n.workers.filter((w) => w !== stack.victim)])
					startedByKill[worker.name] = startedExecutions(worker);
				await stack.victim.kill(signal);
			},
		},
	});
	const n8n: N8nInstance = Object.create(stack.n8n, { main: { value: victim } });
	const result = await killN8nDuringCampaign({ ...stack, n8n }, options);
	return { ...result, victim: stack.victim.name, startedByKill };
}

export function killWorkerResultLine(result: KillWorkerResult): string {
	const started = Object.entries(result.startedByKill)
		.map(([name, count]) => `${name}:${count}`)
		.join(',');
	return `${resultLine(result).replace('scenario=kill-n8n', 'scenario=kill-worker')} victim=${result.victim} started_by_kill=${started}`;
}

/** `npm run chaos -- kill-worker [--items N] [--in-doubt hold|retry|both] [--workers N]` */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? args[at + 1] : undefined;
	};
	const items = Number(arg('items') ?? 2000);
	const which = arg('in-doubt') ?? 'both';
	const policies = (which === 'both' ? ['hold', 'retry'] : [which]) as Array<'hold' | 'retry'>;
	const log = (message: string) =>
		console.error(`[kill-worker ${new Date().toISOString().slice(11, 23)}] ${message}`);
	const dir = mkdtempSync(join(tmpdir(), 'bg-kill-worker-'));
	log(`logs in ${dir}`);
	const redis: { url: string; own?: PrivateRedis } = await resolveTestRedis();
	const stack = await startKillWorkerStack({
		dir,
		redisUrl: redis.url,
		workers: Number(arg('workers') ?? 2),
		log,
	});
	try {
		for (const inDoubt of policies) {
			const result = await killWorkerDuringCampaign(stack, { inDoubt, recipients: items, log });
			console.log(JSON.stringify(result));
			console.log(killWorkerResultLine(result));
		}
	} finally {
		await stack.stop();
		await redis.own?.stop();
	}
}
