import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { packNodePackage } from '../../scripts/lib/n8n/pack';
import { sleep, type Log } from '../../scripts/lib/process';
import {
	deadLetters,
	deliveries,
	installCampaignTemplates,
	intakeExecution,
	lastOutput,
	postCampaign,
	recipientKey,
	recipients,
	serviceClient,
	startCampaignService,
	waitForCampaign,
	type CampaignService,
	type Progress,
} from '../harness/email-campaign';
import { resolveTestRedis, type PrivateRedis } from '../harness/redis';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';

/**
 * kill -9 of n8n (its whole process group) in the middle of an e-mail campaign sent through the
 * shipped templates, then a restart on the same user folder and port. The service goes on by
 * itself: it re-dispatches what n8n never answered. Measured at the SMTP sink, per recipient.
 */
export interface KillN8nResult {
	inDoubt: 'hold' | 'retry';
	items: number;
	/** Recipients the sink accepted at least once. */
	delivered: number;
	/** Recipients neither delivered nor set aside (in_doubt) by the service. */
	lost: number;
	/** Extra deliveries: sum over recipients of (times delivered - 1). */
	duplicates: number;
	/** Items the service held as in_doubt (hold). */
	held: number;
	/** Held recipients the sink had accepted before they were held (their send was cut off after the message left). */
	heldDelivered: number;
	/** Items leased to attempts in flight when n8n was killed (the service's count just before). */
	inFlightAtKill: number;
	/** Recipients marked succeeded by the service that the sink never saw (must be 0). */
	falseSuccesses: number;
	/** Dead letters other than in_doubt, by class (with samples of their messages). */
	otherDeadLetters: Record<string, { count: number; message: string }>;
	intake: { beforeKill: string; afterRestart: string; final: string; reportInDoubt: number };
	/** hold: the held ones replayed by class. */
	replay?: {
		replayed: number;
		newlyDelivered: number;
		duplicatesAmongUnseen: number;
		duplicatesAmongSeen: number;
	};
	seconds: number;
}

export interface KillN8nStack {
	n8n: N8nInstance;
	service: CampaignService;
	sink: SmtpSink;
	stop(): Promise<void>;
}

/**
 * n8n of its own (the scenario kills it), the service with a short lease grace and breaker
 * cooldown so recovery takes seconds, and an SMTP sink holding each message 20 ms so that sends
 * are in flight when the kill comes. With `workers`, n8n runs in queue mode: a main process and
 * that many workers on the same Redis (kill-worker's stack).
 */
export async function startKillN8nStack(options: {
	dir: string;
	tarball?: string;
	redisUrl: string;
	workers?: number;
	log?: Log;
}): Promise<KillN8nStack> {
	const log = options.log ?? (() => undefined);
	mkdirSync(options.dir, { recursive: true });
	const sink = await startSmtpSink({ latencyMs: 20 });
	let service: CampaignService | undefined;
	try {
		service = await startCampaignService({
			redisUrl: options.redisUrl,
			logFile: join(options.dir, 'service.log'),
			env: { LEASE_GRACE_MS: '1000', BREAKER_COOLDOWN_MS: '2000', SWEEP_INTERVAL_MS: '1000' },
		});
		const tarball = options.tarball ?? (await packNodePackage(join(options.dir, 'pack')));
		const n8n = await startN8n({
			userFolder: join(options.dir, 'n8n'),
			packageTarball: tarball,
			logFile: join(options.dir, 'n8n.log'),
			queue: options.workers ? { workers: options.workers, redisUrl: options.redisUrl } : undefined,
			log,
		});
		const running = service;
		return {
			n8n,
			service: running,
			sink,
			stop: async () => {
				await n8n.stop().catch((error: Error) => log(`stopping n8n: ${error.message}`));
				await running.stop().catch((error: Error) => log(`stopping service: ${error.message}`));
				await sink.close();
			},
		};
	} catch (error) {
		await service?.stop().catch(() => undefined);
		await sink.close();
		throw error;
	}
}

/** One campaign, n8n killed once about a third of it is delivered, then restarted. */
export async function killN8nDuringCampaign(
	stack: KillN8nStack,
	options: { inDoubt: 'hold' | 'retry'; recipients: number; log?: Log },
): Promise<KillN8nResult> {
	const log = options.log ?? (() => undefined);
	const { n8n, service, sink } = stack;
	const started = Date.now();
	const templates = await installCampaignTemplates(n8n, {
		service,
		smtp: sink,
		patch: (_file, node) => {
			if (!node.type.endsWith('.splitIntoChunks')) return;
			// A lease (timeoutMs) longer than n8n's restart, so the campaign is still running after it;
			// attempts enough to outlast the outage (refused POSTs count as transient failures).
			Object.assign(node.parameters.options as object, {
				chunkSize: 20,
				inDoubt: options.inDoubt,
				timeoutMs: 30_000,
				maxAttempts: 50,
				backoffInitialMs: 200,
				backoffMaxMs: 2000,
			});
		},
	});
	const api = serviceClient(service);
	const list = recipients(options.recipients, `k${options.inDoubt}`);
	const campaignId = `kill-n8n-${options.inDoubt}-${Date.now()}`;
	const subject = `Campaign ${campaignId}`;
	const answer = await postCampaign<{ batchId?: string }>(
		n8n,
		templates,
		{ campaignId, subject, recipients: list },
		120_000,
	);
	if (answer.status !== 200 || answer.body.batchId !== campaignId) {
		throw new Error(`intake answered ${answer.status}: ${JSON.stringify(answer.body)}`);
	}
	const waitingIntake = await intakeExecution(
		n8n,
		templates.intakeId,
		campaignId,
		(e) => e.status === 'waiting',
		60_000,
	);

	// Kill once about a third of the recipients reached the sink: sends are surely in flight.
	while (deliveries(sink, subject).size < options.recipients / 3) await sleep(20);
	const before = await api.request<Progress>('GET', `/v1/batches/${campaignId}`);
	await n8n.main.kill('SIGKILL');
	log(
		`killed n8n (${options.inDoubt}) with ${before.counts.inFlight} items in flight, ${deliveries(sink, subject).size} delivered`,
	);
	await sleep(1000);
	await n8n.main.restart();
	const afterRestart = await n8n.listExecutions({
		workflowId: templates.intakeId,
		includeData: false,
		limit: 20,
	});
	const stillWaiting = afterRestart.find((e) => e.id === waitingIntake.id)?.status ?? 'missing';
	const runningAfterRestart = await api.request<Progress>('GET', `/v1/batches/${campaignId}`);
	log(
		`n8n restarted; intake execution ${waitingIntake.id} is ${stillWaiting}, batch ${runningAfterRestart.state}`,
	);

	const done = await waitForCampaign(api, campaignId, 10 * 60_000);
	const delivered = deliveries(sink, subject);
	const letters = await deadLetters(api, campaignId);
	const heldKeys = new Set(letters.filter((l) => l.class === 'in_doubt').map((l) => l.key));
	const finalIntake = await intakeExecution(
		n8n,
		templates.intakeId,
		campaignId,
		(e) => e.id === waitingIntake.id && e.status !== 'waiting',
		120_000,
	);
	const report = lastOutput(finalIntake) as
		{ report?: { summary?: { in_doubt?: number } } } | undefined;
	const succeededKeys = new Set(list.map(recipientKey));
	for (const letter of letters) succeededKeys.delete(letter.key);
	const result: KillN8nResult = {
		inDoubt: options.inDoubt,
		items: list.length,
		delivered: delivered.size,
		lost: list.filter((email) => !delivered.has(email) && !heldKeys.has(recipientKey(email)))
			.length,
		duplicates: [...delivered.values()].reduce((sum, count) => sum + count - 1, 0),
		held: done.counts.inDoubt,
		heldDelivered: list.filter((email) => heldKeys.has(recipientKey(email)) && delivered.has(email))
			.length,
		inFlightAtKill: before.counts.inFlight,
		falseSuccesses: list.filter(
			(email) => succeededKeys.has(recipientKey(email)) && !delivered.has(email),
		).length,
		otherDeadLetters: {},
		intake: {
			beforeKill: waitingIntake.status,
			afterRestart: stillWaiting,
			final: finalIntake.status,
			reportInDoubt: report?.report?.summary?.in_doubt ?? -1,
		},
		seconds: 0,
	};
	for (const letter of letters.filter((l) => l.class !== 'in_doubt')) {
		const entry = (result.otherDeadLetters[letter.class] ??= { count: 0, message: letter.message });
		entry.count++;
	}
	if (options.inDoubt === 'hold' && heldKeys.size > 0) {
		// The operator's replay by class: recipients the sink never saw must now arrive exactly once.
		const seen = new Set(delivered.keys());
		const replayed = await api.request<{ replayed: number }>(
			'POST',
			`/v1/batches/${campaignId}/dead-letters/retry`,
			{ errorClass: 'in_doubt' },
		);
		await waitForCampaign(api, campaignId, 5 * 60_000);
		const after = deliveries(sink, subject);
		const held = list.filter((email) => heldKeys.has(recipientKey(email)));
		const unseen = held.filter((email) => !seen.has(email));
		result.replay = {
			replayed: replayed.replayed,
			newlyDelivered: unseen.filter((email) => after.get(email) === 1).length,
			duplicatesAmongUnseen: unseen.reduce(
				(sum, email) => sum + Math.max(0, (after.get(email) ?? 0) - 1),
				0,
			),
			duplicatesAmongSeen: held
				.filter((email) => seen.has(email))
				.reduce((sum, email) => sum + (after.get(email) ?? 0) - 1, 0),
		};
	}
	result.seconds = Math.round((Date.now() - started) / 100) / 10;
	return result;
}

export function resultLine(result: KillN8nResult): string {
	const replay = result.replay
		? ` replayed=${result.replay.replayed} replay_new=${result.replay.newlyDelivered} replay_duplicates_unseen=${result.replay.duplicatesAmongUnseen} replay_duplicates_seen=${result.replay.duplicatesAmongSeen}`
		: '';
	return (
		`RESULT chaos scenario=kill-n8n items=${result.items} lost=${result.lost} ` +
		`duplicates=${result.duplicates} held=${result.held} in_doubt=${result.inDoubt} held_delivered=${result.heldDelivered} ` +
		`in_flight_at_kill=${result.inFlightAtKill} false_successes=${result.falseSuccesses} ` +
		`intake=${result.intake.beforeKill}/${result.intake.afterRestart}/${result.intake.final}${replay} ` +
		`other_dead_letters=${
			Object.entries(result.otherDeadLetters)
				.map(([c, e]) => `${c}:${e.count}`)
				.join(',') || 0
		} ` +
		`seconds=${result.seconds}`
	);
}

/** `npm run chaos -- kill-n8n [--items N] [--in-doubt hold|retry|both]` */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? args[at + 1] : undefined;
	};
	const items = Number(arg('items') ?? 2000);
	const which = arg('in-doubt') ?? 'both';
	const policies = (which === 'both' ? ['hold', 'retry'] : [which]) as Array<'hold' | 'retry'>;
	const log = (message: string) => console.error(`[kill-n8n] ${message}`);
	const dir = mkdtempSync(join(tmpdir(), 'bg-kill-n8n-'));
	log(`logs in ${dir}`);
	const redis: { url: string; own?: PrivateRedis } = await resolveTestRedis();
	const stack = await startKillN8nStack({ dir, redisUrl: redis.url, log });
	try {
		for (const inDoubt of policies) {
			const result = await killN8nDuringCampaign(stack, { inDoubt, recipients: items, log });
			console.log(JSON.stringify(result));
			console.log(resultLine(result));
		}
	} finally {
		await stack.stop();
		await redis.own?.stop();
	}
}
