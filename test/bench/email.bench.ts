import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';

import type { WorkflowJson } from '../../scripts/lib/n8n/api';
import { installPaths } from '../../scripts/lib/n8n/install';
import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { packNodePackage } from '../../scripts/lib/n8n/pack';
import { sleep } from '../../scripts/lib/process';
import { publishWorkflow } from '../../scripts/lib/workflows';
import {
	installCampaignTemplates,
	postCampaign,
	recipients,
	serviceClient,
	startCampaignService,
	waitForCampaign,
	type CampaignService,
	type CampaignTemplates,
} from '../harness/email-campaign';
import { startPrivateRedis } from '../harness/redis';
import { startSmtpSink, type SmtpSink } from '../harness/smtp-sink';
import { directCampaign } from './email-direct';

const LATENCY_MS = 100;
const LOOP_SAMPLE = 2000;
const log = (message: string) => console.error(`[email bench] ${message}`);

/**
 * E-mail campaign end to end in one n8n 2.41.1 process, against an SMTP sink that holds every
 * message 100 ms before its final reply (a remote relay), measured alone first:
 * - ours: the shipped intake and worker templates (Split Into Chunks -> service -> concurrent
 *   worker executions -> Checkpoint -> Rate Limit -> Send Email -> Record Results) with 10,000 and
 *   50,000 recipients, timed from the intake call to the last message at the sink;
 * - loop: one workflow Webhook -> Split Out -> Loop Over Items (batch 100) -> Send Email, its rate
 *   over its first 2,000 recipients, stopped once read (it sends one message after another).
 * Each run gets a freshly started n8n; its peak RSS (main process and task runner) is sampled
 * every 250 ms, with its heap limit set by `--heap-mb` for every run (as a container would) or
 * Node's default. Chunks of 200 at 40 in flight keep ~40 messages on the wire (145 ms each with
 * n8n's nodemailer) while n8n's per-execution cost is spread over 200 e-mails.
 * - bare: n8n's Send Email alone (Webhook -> Split Out -> Send Email), fed the same chunks at the
 *   same concurrency by the bench itself: the floor under ours, so the difference is our cost.
 * `--engine legacy` runs every n8n with N8N_EXPRESSION_ENGINE=legacy (n8n 2.x's default, vm,
 * evaluates each expression in an isolate, about a millisecond each, per item).
 * `npm run bench -- email [--sizes 10000,50000] [--chunk 200] [--concurrency 40] [--heap-mb N] [--engine vm|legacy] [--no-loop]`
 */
export async function run(args: string[]): Promise<void> {
	const arg = (name: string, fallback: string) => {
		const at = args.indexOf(`--${name}`);
		return at >= 0 ? args[at + 1] : fallback;
	};
	const sizes = arg('sizes', '10000,50000').split(',').map(Number);
	const chunkSize = Number(arg('chunk', '200'));
	const concurrency = Number(arg('concurrency', '40'));
	const heapMb = args.includes('--heap-mb') ? Number(arg('heap-mb', '')) : undefined;
	const withLoop = !args.includes('--no-loop');
	// n8n 2.x evaluates expressions in an isolate ('vm', its default); 'legacy' is its opt-out.
	const engine = arg('engine', 'vm');
	if (!['vm', 'legacy'].includes(engine))
		throw new Error(`--engine is vm or legacy, got ${engine}`);
	const dir = mkdtempSync(join(tmpdir(), 'bg-email-bench-'));
	log(`logs in ${dir}`);

	const sink = await startSmtpSink({ latencyMs: LATENCY_MS });
	// Measured with the nodemailer Send Email runs on (n8n's own) and with this repo's newer one.
	const n8nMailer = n8nNodemailer();
	const alone = await sinkAlone(sink, n8nMailer.mailer);
	const aloneNewer = await sinkAlone(sink, nodemailer);
	for (const [label, measured] of [
		[`n8n's nodemailer ${n8nMailer.version}`, alone],
		['nodemailer 10 (this repo)', aloneNewer],
	] as const) {
		console.log(
			`sink alone, ${label}: ${measured.sequentialMs.toFixed(1)} ms a message on a new ` +
				`connection each (${LATENCY_MS} ms held), ${measured.perMinute.toFixed(0)}/min with 64 senders at once`,
		);
	}

	const redis = await startPrivateRedis();
	const service = await startCampaignService({
		redisUrl: redis.url,
		logFile: join(dir, 'service.log'),
		env: { DISPATCH_CONCURRENCY: String(concurrency), LOG_LEVEL: 'warn' },
	});
	const n8n = await startN8n({
		userFolder: join(dir, 'n8n'),
		packageTarball: await packNodePackage(join(dir, 'pack')),
		logFile: join(dir, 'n8n.log'),
		env: {
			N8N_EXPRESSION_ENGINE: engine,
			...(heapMb ? { NODE_OPTIONS: `--max-old-space-size=${heapMb}` } : {}),
		},
		log,
	});
	try {
		const templates = await installCampaignTemplates(n8n, {
			service,
			smtp: sink,
			patch: (_file, node) => {
				if (node.type.endsWith('.splitIntoChunks')) {
					Object.assign(node.parameters.options as object, { chunkSize, concurrency });
				}
				// Limits far above what this machine sends: the relay's pace is not what is measured.
				if (node.type.endsWith('.rateLimit')) {
					Object.assign(node.parameters, { capacity: 100_000, refillAmount: 100_000 });
				}
			},
		});
		const loopPath = `email-loop-${randomUUID().slice(0, 8)}`;
		const loopId = await n8n.createWorkflow(loopWorkflow(loopPath, templates.credentials.smtp));
		await publishWorkflow(n8n, loopId);

		const barePath = `email-bare-${randomUUID().slice(0, 8)}`;
		const bareId = await n8n.createWorkflow(bareWorkflow(barePath, templates.credentials.smtp));
		await publishWorkflow(n8n, bareId);

		// n8n's Send Email alone, fed the worker's chunks at the same concurrency: the floor of ours.
		await freshN8n(n8n);
		const bare = await bareRun(n8n, sink, barePath, sizes[0], chunkSize, concurrency);
		console.log(
			`bare Send Email ${sizes[0]}: ${bare.perMinute.toFixed(0)} e-mails/min, ${bare.seconds.toFixed(1)} s, ` +
				`n8n CPU ${bare.n8nCpuMs.toFixed(2)} ms per e-mail`,
		);

		const ours: Record<number, Measured> = {};
		for (const size of sizes) {
			await freshN8n(n8n);
			ours[size] = await oursRun(n8n, service, sink, templates, size);
			console.log(
				`ours ${size}: ${ours[size].perMinute.toFixed(0)} e-mails/min, ${ours[size].seconds.toFixed(1)} s, peak RSS ${mb(ours[size].peakRss)} MB, ` +
					`CPU per e-mail: n8n ${ours[size].n8nCpuMs.toFixed(2)} ms, service ${ours[size].serviceCpuMs?.toFixed(2)} ms`,
			);
		}
		// The direct path: the service sends every e-mail itself (email-campaign-direct.json), same sink.
		await freshN8n(n8n);
		const direct = await directCampaign({
			n8n,
			n8nPid: n8n.main.pid,
			sink,
			redisUrl: redis.url,
			dir,
			recipients: sizes[0],
		});
		console.log(
			`direct ${sizes[0]}: ${direct.perMin} e-mails/min, ${direct.seconds.toFixed(1)} s, ` +
				`CPU per e-mail: n8n ${direct.n8nCpuMsPerEmail.toFixed(2)} ms, service ${direct.serviceCpuMsPerEmail.toFixed(2)} ms`,
		);
		const loop: Record<number, Measured> = {};
		for (const size of withLoop ? sizes : []) {
			await freshN8n(n8n);
			loop[size] = await loopRun(
				n8n,
				sink,
				loopPath,
				size,
				Math.min(size, size === sizes[0] ? LOOP_SAMPLE : 300),
			);
			console.log(
				`loop ${size}: ${loop[size].perMinute.toFixed(0)} e-mails/min over its first ${loop[size].sent}, peak RSS ${mb(loop[size].peakRss)} MB (stopped), ` +
					`n8n CPU ${loop[size].n8nCpuMs.toFixed(2)} ms per e-mail`,
			);
		}
		const [small, large] = [sizes[0], sizes[sizes.length - 1]];
		const oursPerMin = ours[large].perMinute;
		// --no-loop: ours and direct only, the Loop Over Items fields left out.
		const loopFields = withLoop
			? `loop_per_min=${loop[small].perMinute.toFixed(0)} ` +
				`speedup=${(oursPerMin / loop[small].perMinute).toFixed(1)} `
			: '';
		const loopRss = withLoop
			? `rss_ratio_loop=${(loop[large].peakRss / loop[small].peakRss).toFixed(2)} `
			: '';
		console.log(
			`RESULT email ours_per_min=${oursPerMin.toFixed(0)} ${loopFields}` +
				`rss_ratio_ours=${(ours[large].peakRss / ours[small].peakRss).toFixed(2)} ${loopRss}` +
				`ours_per_min_${small}=${ours[small].perMinute.toFixed(0)} ` +
				`rss_ours_mb=${mb(ours[small].peakRss)}/${mb(ours[large].peakRss)} ` +
				(withLoop ? `rss_loop_mb=${mb(loop[small].peakRss)}/${mb(loop[large].peakRss)} ` : '') +
				`sink_alone_ms=${alone.sequentialMs.toFixed(1)} sink_alone_nodemailer10_ms=${aloneNewer.sequentialMs.toFixed(1)} ` +
				`chunk=${chunkSize} concurrency=${concurrency}${heapMb ? ` heap_mb=${heapMb}` : ''} ` +
				`engine=${engine} bare_per_min=${bare.perMinute.toFixed(0)} ` +
				`n8n_cpu_ms_per_email_bare=${bare.n8nCpuMs.toFixed(2)} ` +
				`n8n_cpu_ms_per_email_ours=${ours[large].n8nCpuMs.toFixed(2)} ` +
				(withLoop ? `n8n_cpu_ms_per_email_loop=${loop[small].n8nCpuMs.toFixed(2)} ` : '') +
				`direct_per_min=${direct.perMin} ` +
				`n8n_cpu_ms_per_email_direct=${direct.n8nCpuMsPerEmail.toFixed(2)}`,
		);
	} finally {
		await n8n.stop().catch(() => undefined);
		await service.stop().catch(() => undefined);
		await redis.stop();
		await sink.close();
	}
}

interface Measured {
	perMinute: number;
	seconds: number;
	sent: number;
	peakRss: number;
	/** CPU ms per e-mail: n8n (main and task runner), and the service (ours only). */
	n8nCpuMs: number;
	serviceCpuMs?: number;
}

const mb = (kb: number) => Math.round(kb / 1024);

type Mailer = typeof nodemailer;

/** The nodemailer n8n's Send Email uses (n8n-nodes-base's own dependency), not this repo's. */
function n8nNodemailer(): { mailer: Mailer; version: string } {
	const base = join(installPaths().n8nDir, 'node_modules', 'n8n-nodes-base', 'package.json');
	const load = createRequire(base);
	const { version } = load('nodemailer/package.json') as { version: string };
	return { mailer: load('nodemailer') as Mailer, version };
}

/**
 * The sink with nothing else running: a new transport (and connection) per message, as Send
 * Email does, one after another and 64 at once.
 */
async function sinkAlone(
	sink: SmtpSink,
	mailer: Mailer,
): Promise<{ sequentialMs: number; perMinute: number }> {
	const send = async (n: number) => {
		const transport = mailer.createTransport({
			host: sink.host,
			port: sink.port,
			secure: false,
			ignoreTLS: true,
		});
		await transport.sendMail({
			from: 'bench@sender.test',
			to: `alone${n}@example.test`,
			subject: 'sink alone',
			text: 'hi',
		});
		transport.close();
	};
	let started = performance.now();
	for (let n = 0; n < 30; n++) await send(n);
	const sequentialMs = (performance.now() - started) / 30;
	started = performance.now();
	await Promise.all(
		Array.from({ length: 64 }, async (_, worker) => {
			for (let n = 0; n < 10; n++) await send(1000 + worker * 10 + n);
		}),
	);
	const perMinute = (640 / (performance.now() - started)) * 60_000;
	return { sequentialMs, perMinute };
}

/** A clean n8n process for each run, so one run's heap does not carry into the next. */
async function freshN8n(n8n: N8nInstance): Promise<void> {
	await n8n.main.kill('SIGTERM');
	await n8n.main.restart();
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time (ms) used so far by the live processes of a group, from /proc. */
async function groupCpuMs(pgid: number): Promise<number> {
	const { stdout } = await promisify(execFile)('ps', ['-o', 'pid=', '-g', String(pgid)]).catch(
		() => ({ stdout: '' }),
	);
	let ticks = 0;
	for (const pid of stdout
		.split('\n')
		.map((line) => line.trim())
		.filter(Boolean)) {
		try {
			// Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
			const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
			const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
			ticks += Number(fields[11]) + Number(fields[12]);
		} catch {
			// Exited meanwhile.
		}
	}
	return ticks * TICK_MS;
}

/** Peak RSS (KB) of a process group, sampled until stopped. */
function rssSampler(pgid: number): { stop(): Promise<number> } {
	let peak = 0;
	let running = true;
	const loop = (async () => {
		while (running) {
			const { stdout } = await promisify(execFile)('ps', ['-o', 'rss=', '-g', String(pgid)]).catch(
				() => ({ stdout: '' }),
			);
			const total = stdout
				.split('\n')
				.map((line) => Number(line.trim()) || 0)
				.reduce((sum, kb) => sum + kb, 0);
			peak = Math.max(peak, total);
			await sleep(250);
		}
	})();
	return {
		stop: async () => {
			running = false;
			await loop;
			return peak;
		},
	};
}

const campaignCount = (sink: SmtpSink, subject: string) =>
	sink.messages.reduce((count, message) => count + (message.subject === subject ? 1 : 0), 0);

async function oursRun(
	n8n: N8nInstance,
	service: CampaignService,
	sink: SmtpSink,
	templates: CampaignTemplates,
	size: number,
): Promise<Measured> {
	const campaignId = `bench-${size}-${Date.now()}`;
	const subject = `Bench ${campaignId}`;
	const list = recipients(size, `o${size}-`);
	const rss = rssSampler(n8n.main.pid);
	const cpu = { n8n: await groupCpuMs(n8n.main.pid), service: await groupCpuMs(service.pid) };
	const started = Date.now();
	const answer = await postCampaign(
		n8n,
		templates,
		{ campaignId, subject, recipients: list },
		600_000,
	);
	if (answer.status !== 200)
		throw new Error(`intake answered ${answer.status}: ${JSON.stringify(answer.body)}`);
	log(`ours ${size}: intake answered after ${Date.now() - started} ms`);
	const done = await waitForCampaign(serviceClient(service), campaignId, 60 * 60_000, (p) =>
		log(`ours ${size}: ${p.counts.succeeded} sent, ${p.counts.inFlight} in flight`),
	);
	const peakRss = await rss.stop();
	const last = Math.max(...sink.messages.filter((m) => m.subject === subject).map((m) => m.at));
	const sent = campaignCount(sink, subject);
	if (done.counts.succeeded !== size || sent !== size) {
		throw new Error(`ours ${size}: ${done.counts.succeeded} succeeded, ${sent} at the sink`);
	}
	const seconds = (last - started) / 1000;
	return {
		perMinute: (size / seconds) * 60,
		seconds,
		sent,
		peakRss,
		n8nCpuMs: ((await groupCpuMs(n8n.main.pid)) - cpu.n8n) / size,
		serviceCpuMs: ((await groupCpuMs(service.pid)) - cpu.service) / size,
	};
}

async function loopRun(
	n8n: N8nInstance,
	sink: SmtpSink,
	path: string,
	size: number,
	sample: number,
): Promise<Measured> {
	const subject = `Loop ${size}-${Date.now()}`;
	const list = recipients(size, `l${size}-`);
	const rss = rssSampler(n8n.main.pid);
	const cpu = await groupCpuMs(n8n.main.pid);
	const started = Date.now();
	const answer = await n8n.callWebhook(path, { subject, recipients: list }, { timeoutMs: 600_000 });
	if (answer.status !== 200) throw new Error(`loop webhook answered ${answer.status}`);
	while (campaignCount(sink, subject) < sample) await sleep(100);
	const seconds = (Date.now() - started) / 1000;
	const n8nCpuMs = ((await groupCpuMs(n8n.main.pid)) - cpu) / sample;
	const peakRss = await rss.stop();
	return { perMinute: (sample / seconds) * 60, seconds, sent: sample, peakRss, n8nCpuMs };
}

/**
 * The bench posts the worker's chunks itself (items `{ json: { email, from, subject, text } }`,
 * `concurrency` at once) to Webhook -> Split Out -> Send Email with the worker template's own
 * expressions: what n8n's Send Email costs with nothing of ours around it.
 */
async function bareRun(
	n8n: N8nInstance,
	sink: SmtpSink,
	path: string,
	size: number,
	chunkSize: number,
	concurrency: number,
): Promise<Measured> {
	const subject = `Bare ${size}-${Date.now()}`;
	const list = recipients(size, `b${size}-`);
	const chunks: string[][] = [];
	for (let at = 0; at < list.length; at += chunkSize) chunks.push(list.slice(at, at + chunkSize));
	const rss = rssSampler(n8n.main.pid);
	const cpu = await groupCpuMs(n8n.main.pid);
	const started = Date.now();
	let next = 0;
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			for (let chunk = chunks[next++]; chunk; chunk = chunks[next++]) {
				const items = chunk.map((email) => ({
					json: { email, from: 'news@sender.test', subject, text: 'hi' },
				}));
				const answer = await n8n.callWebhook(path, { items }, { timeoutMs: 600_000 });
				if (answer.status !== 200) throw new Error(`bare webhook answered ${answer.status}`);
			}
		}),
	);
	const seconds = (Date.now() - started) / 1000;
	const n8nCpuMs = ((await groupCpuMs(n8n.main.pid)) - cpu) / size;
	const peakRss = await rss.stop();
	const sent = campaignCount(sink, subject);
	if (sent !== size) throw new Error(`bare ${size}: ${sent} at the sink`);
	return { perMinute: (size / seconds) * 60, seconds, sent, peakRss, n8nCpuMs };
}

function benchNode(
	name: string,
	type: string,
	typeVersion: number,
	parameters: object,
	extra = {},
) {
	return { id: randomUUID(), name, type, typeVersion, position: [0, 0], parameters, ...extra };
}

/** n8n's Send Email (2.1), plain text, on the bench's SMTP credential. */
function sendEmailNode(
	fields: { fromEmail: string; toEmail: string; subject: string; text: string },
	onError: string,
	smtp: { id: string; name: string },
) {
	const parameters = { ...fields, emailFormat: 'text', options: { appendAttribution: false } };
	return benchNode('Send Email', 'n8n-nodes-base.emailSend', 2.1, parameters, {
		onError,
		credentials: { smtp },
	});
}

/** Webhook -> Split Out -> Send Email, answering when the chunk is sent. */
function bareWorkflow(path: string, smtp: { id: string; name: string }): WorkflowJson {
	const webhook = { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} };
	return {
		name: `Email bare ${path}`,
		nodes: [
			benchNode('Webhook', 'n8n-nodes-base.webhook', 2, webhook, { webhookId: randomUUID() }),
			benchNode('Split Out', 'n8n-nodes-base.splitOut', 1, {
				fieldToSplitOut: 'body.items',
				options: {},
			}),
			sendEmailNode(
				{
					fromEmail: '={{ $json.json.from }}',
					toEmail: '={{ $json.json.email }}',
					subject: '={{ $json.json.subject }}',
					text: '={{ $json.json.text }}',
				},
				'continueErrorOutput',
				smtp,
			),
		],
		connections: {
			Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
			'Split Out': { main: [[{ node: 'Send Email', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

/** Webhook -> Split Out -> Loop Over Items (100) -> Send Email -> back to the loop. */
function loopWorkflow(path: string, smtp: { id: string; name: string }): WorkflowJson {
	const node = benchNode;
	return {
		name: `Email loop ${path}`,
		nodes: [
			node(
				'Webhook',
				'n8n-nodes-base.webhook',
				2,
				{ httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
				{ webhookId: randomUUID() },
			),
			node('Split Out', 'n8n-nodes-base.splitOut', 1, {
				fieldToSplitOut: 'body.recipients',
				options: { destinationFieldName: 'email' },
			}),
			node('Loop Over Items', 'n8n-nodes-base.splitInBatches', 3, { batchSize: 100, options: {} }),
			sendEmailNode(
				{
					fromEmail: 'news@sender.test',
					toEmail: '={{ $json.email }}',
					subject: "={{ $('Webhook').first().json.body.subject }}",
					text: 'hi',
				},
				'continueRegularOutput',
				smtp,
			),
		],
		connections: {
			Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] },
			'Split Out': { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
			'Loop Over Items': { main: [[], [{ node: 'Send Email', type: 'main', index: 0 }]] },
			'Send Email': { main: [[{ node: 'Loop Over Items', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
	};
}
