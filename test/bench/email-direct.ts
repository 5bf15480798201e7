/**
 * The direct path of the e-mail benchmark: the campaign through `email-campaign-direct.json` in a
 * running n8n, the service sending every e-mail itself over its pooled transport to the same SMTP
 * sink. Imported by the e-mail bench (same run, same sink) and run alone by
 * `npm run bench -- email-direct`. CPU is read from /proc for n8n's and the service's process
 * groups, so the figure says where the time went.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import nodemailer from 'nodemailer';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import {
	installCampaignTemplates,
	recipients,
	serviceClient,
	startCampaignService,
	type CampaignService,
} from '../harness/email-campaign';
import { installDirectTemplate } from '../harness/email-direct';
import type { SmtpSink } from '../harness/smtp-sink';

const TICKS_PER_SECOND = 100;

/** CPU seconds (user + system) of every live process of a process group, from /proc. */
export function groupCpuSeconds(pgid: number): number {
	let ticks = 0;
	for (const entry of readdirSync('/proc')) {
		if (!/^\d+$/.test(entry)) continue;
		try {
			const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
			// After the command (which may hold spaces): state ppid pgrp ... utime(12th) stime(13th).
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			if (Number(fields[2]) !== pgid) continue;
			ticks += Number(fields[11]) + Number(fields[12]);
		} catch {
			// The process ended between listing and reading.
		}
	}
	return ticks / TICKS_PER_SECOND;
}

/** CPU of named process groups between laps, as a share of one core (100 = one core busy). */
export function cpuMeter(pgids: Record<string, number>) {
	const read = () =>
		Object.fromEntries(Object.entries(pgids).map(([name, pgid]) => [name, groupCpuSeconds(pgid)]));
	let last = { at: performance.now(), cpu: read() };
	return {
		lap(): { seconds: number; percent: Record<string, number> } {
			const now = { at: performance.now(), cpu: read() };
			const seconds = (now.at - last.at) / 1000;
			const percent = Object.fromEntries(
				Object.keys(pgids).map((name) => [
					name,
					Math.round(((now.cpu[name] - last.cpu[name]) / seconds) * 100),
				]),
			);
			last = now;
			return { seconds, percent };
		},
	};
}

/**
 * The sink alone: `messages` sent over `connections` pooled nodemailer connections (opened by a
 * first round that is not counted), no service, no n8n. Its ceiling is connections / latency.
 */
export async function sinkAlone(
	sink: SmtpSink,
	connections: number,
	messages: number,
): Promise<{ perMin: number; msPerMessage: number }> {
	const mailer = nodemailer.createTransport({
		pool: true,
		host: sink.host,
		port: sink.port,
		ignoreTLS: true,
		maxConnections: connections,
		maxMessages: 100_000,
	});
	const send = async (count: number) => {
		const times: number[] = [];
		await Promise.all(
			Array.from({ length: count }, async (_, n) => {
				const at = performance.now();
				await mailer.sendMail({
					from: 'bench@sender.test',
					to: `alone${n}@example.test`,
					subject: 'sink alone',
					text: 'x',
				});
				times.push(performance.now() - at);
			}),
		);
		return times;
	};
	await send(connections);
	// One message alone on an open connection: the sink's own time.
	const single = await send(1);
	const started = performance.now();
	await send(messages);
	const seconds = (performance.now() - started) / 1000;
	mailer.close();
	return { perMin: Math.round((messages / seconds) * 60), msPerMessage: Math.round(single[0]) };
}

export interface CampaignRun {
	recipients: number;
	/** From the intake webhook call to the batch's end. */
	seconds: number;
	perMin: number;
	/** From the first message the sink accepted to the last. */
	sendPerMin: number;
	delivered: number;
	duplicates: number;
	n8nCpuPercent: number;
	serviceCpuPercent: number;
	/** CPU milliseconds per e-mail delivered, n8n's and the service's. */
	n8nCpuMsPerEmail: number;
	serviceCpuMsPerEmail: number;
	/** Until the intake webhook answered (items uploaded and sealed), with n8n's time per node. */
	intake: Phase & { nodeMs: Record<string, number> };
	/** From then until the batch ended. */
	sending: Phase;
}

interface Phase {
	seconds: number;
	n8nCpuPercent: number;
	serviceCpuPercent: number;
}

export interface CampaignOptions {
	n8n: N8nApi;
	/** n8n's main pid (its process group: main and task runners). */
	n8nPid: number;
	sink: SmtpSink;
	redisUrl: string;
	dir: string;
	recipients: number;
	/** Direct path: pooled connections of the service's transport (messages in flight). @defaultValue 100 */
	pool?: number;
}

/**
 * The direct path: a service of its own with transport `local` at the sink, the direct template
 * in the given n8n, the campaign POSTed to its webhook; ends when the batch does. The sink must
 * accept every recipient (no failures configured).
 */
export async function directCampaign(options: CampaignOptions): Promise<CampaignRun> {
	const pool = options.pool ?? 100;
	const service = await startCampaignService({
		redisUrl: options.redisUrl,
		logFile: join(options.dir, 'service-direct.log'),
		env: {
			LOG_LEVEL: 'warn',
			SMTP_TRANSPORT_LOCAL: `smtp://${options.sink.host}:${options.sink.port}?pool=${pool}&maxMessages=10000&ignoreTLS=true`,
			DISPATCH_CONCURRENCY: '32',
		},
	});
	try {
		const template = await installDirectTemplate(options.n8n, {
			service,
			smtp: options.sink,
			patch: (node) => {
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, { chunkSize: 200, concurrency: 16 });
				}
			},
		});
		return await measureCampaign(options, service, template.workflowId, template.path, {});
	} finally {
		await service.stop();
	}
}

/**
 * The worker-workflow path, for comparison in the same run: the shipped intake and worker
 * templates (n8n's Send Email node, a connection per message) against the same sink.
 */
export async function workerCampaign(options: CampaignOptions): Promise<CampaignRun> {
	const service = await startCampaignService({
		redisUrl: options.redisUrl,
		logFile: join(options.dir, 'service-worker.log'),
		env: { LOG_LEVEL: 'warn', DISPATCH_CONCURRENCY: '64' },
	});
	try {
		// Tuned as the e-mail bench tunes it: many worker executions at once, limits out of the way.
		const templates = await installCampaignTemplates(options.n8n, {
			service,
			smtp: options.sink,
			patch: (_file, node) => {
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, { chunkSize: 50, concurrency: 64 });
				}
				if (node.type.endsWith('.rateLimit')) {
					Object.assign(node.parameters, { capacity: 100_000, refillAmount: 100_000 });
				}
			},
		});
		return await measureCampaign(options, service, templates.intakeId, templates.intakePath, {
			workerUrl: templates.workerUrl,
		});
	} finally {
		await service.stop();
	}
}

/** POSTs a campaign to an intake webhook and measures it until its batch ends. */
async function measureCampaign(
	options: CampaignOptions,
	service: CampaignService,
	workflowId: string,
	path: string,
	extra: Record<string, unknown>,
): Promise<CampaignRun> {
	const campaignId = `bench-${randomBytes(4).toString('hex')}`;
	const subject = `Bench ${campaignId}`;
	const list = recipients(options.recipients, 'dx');
	const sentBefore = options.sink.messages.length;
	const api = serviceClient(service);
	const meter = cpuMeter({ n8n: options.n8nPid, service: service.pid });
	const body = { campaignId, from: 'news@sender.test', subject, text: 'Hello!', recipients: list };
	const answer = await options.n8n.callWebhook(path, { ...body, ...extra }, { timeoutMs: 300_000 });
	if (answer.status !== 200) throw new Error(`intake answered ${answer.status}`);
	const intake = meter.lap();
	// The service's long-poll answers the moment the batch ends.
	for (;;) {
		const waited = await api.request<{ done: boolean }>(
			'GET',
			`/v1/batches/${campaignId}/wait?timeoutMs=30000`,
		);
		if (waited.done) break;
	}
	const sending = meter.lap();
	const seconds = intake.seconds + sending.seconds;
	const share = (name: string) =>
		Math.round(
			(intake.percent[name] * intake.seconds + sending.percent[name] * sending.seconds) / seconds,
		);
	const ours = options.sink.messages.slice(sentBefore).filter((m) => m.subject === subject);
	const perRecipient = new Set(ours.map((m) => m.to.join(',')));
	const times = ours.map((m) => m.at).sort((a, b) => a - b);
	const sendSeconds = (times[times.length - 1] - times[0]) / 1000;
	const execution = await options.n8n.waitForExecution(
		workflowId,
		(e) =>
			(e.data?.resultData.metadata as { batchId?: string } | undefined)?.batchId === campaignId,
		60_000,
	);
	const nodeMs = Object.fromEntries(
		Object.entries(execution.data?.resultData.runData ?? {}).map(([node, runs]) => [
			node,
			(runs as Array<{ executionTime?: number }>).reduce(
				(sum, r) => sum + (r.executionTime ?? 0),
				0,
			),
		]),
	);
	return {
		recipients: options.recipients,
		seconds,
		perMin: Math.round((ours.length / seconds) * 60),
		sendPerMin: Math.round((ours.length / sendSeconds) * 60),
		delivered: perRecipient.size,
		duplicates: ours.length - perRecipient.size,
		n8nCpuPercent: share('n8n'),
		serviceCpuPercent: share('service'),
		n8nCpuMsPerEmail: (share('n8n') * seconds * 10) / Math.max(1, ours.length),
		serviceCpuMsPerEmail: (share('service') * seconds * 10) / Math.max(1, ours.length),
		intake: {
			seconds: intake.seconds,
			n8nCpuPercent: intake.percent.n8n,
			serviceCpuPercent: intake.percent.service,
			nodeMs,
		},
		sending: {
			seconds: sending.seconds,
			n8nCpuPercent: sending.percent.n8n,
			serviceCpuPercent: sending.percent.service,
		},
	};
}
