/**
 * The shipped e-mail campaign templates installed into a running n8n the way a user would (their
 * own credentials, published), made unique so several copies can share one n8n, plus what the
 * e-mail tests, the kill-n8n scenario and the e-mail benchmark read back: the service's view of
 * the campaign and the sink's.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { Execution, HttpAnswer, N8nApi, WorkflowJson } from '../../scripts/lib/n8n/api';
import { freePort, groupAlive, sleep } from '../../scripts/lib/process';
import { deletePrefixedKeys } from '../../scripts/lib/redis-keys';
import { startCompanionService, type RunningService } from '../../scripts/lib/service';
import { publishWorkflow } from '../../scripts/lib/workflows';
import type { SmtpSink } from './smtp-sink';

const WORKFLOWS = join(__dirname, '../../workflows');
export const TERMINAL = ['completed', 'completed_with_errors', 'aborted', 'cancelled'];

export interface TemplateNode {
	id: string;
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	webhookId?: string;
	[key: string]: unknown;
}

export interface ServiceRef {
	url: string;
	apiKey: string;
	/** The service's DISPATCH_SECRET, checked by the worker's Header Auth. */
	dispatchSecret: string;
}

export interface CampaignTemplates {
	intakeId: string;
	workerId: string;
	statusId: string;
	intakePath: string;
	workerPath: string;
	statusPath: string;
	workerUrl: string;
	/** The credentials made for them, by type (batchGuardianApi, smtp, httpHeaderAuth). */
	credentials: Record<string, { id: string; name: string }>;
}

export interface InstallOptions {
	service: ServiceRef;
	smtp: { host: string; port: number };
	/** Changes a node of a template before import (test-sized backoff, limits...). */
	patch?: (file: string, node: TemplateNode) => void;
}

const tag = () => randomBytes(4).toString('hex');

/** A companion service of its own (own key prefix, a DISPATCH_SECRET) that can be killed -9 and restarted. */
export interface CampaignService extends ServiceRef {
	keyPrefix: string;
	readonly pid: number;
	logFile: string;
	/** kill -9 of its process group; waits until it is gone. */
	kill(): Promise<void>;
	/** Starts it again on the same port, prefix and settings. */
	restart(): Promise<void>;
	/** Stops it and deletes its keys. */
	stop(): Promise<void>;
}

export async function startCampaignService(options: {
	redisUrl: string;
	logFile: string;
	env?: NodeJS.ProcessEnv;
}): Promise<CampaignService> {
	const port = await freePort();
	const keyPrefix = `bg-mail-${tag()}`;
	const apiKey = randomBytes(24).toString('hex');
	const dispatchSecret = randomBytes(16).toString('hex');
	const start = () =>
		startCompanionService({
			port,
			redisUrl: options.redisUrl,
			apiKey,
			keyPrefix,
			logLevel: 'info',
			logFile: options.logFile,
			env: { DISPATCH_SECRET: dispatchSecret, ...options.env },
		});
	let running: RunningService = await start();
	return {
		url: running.url,
		apiKey,
		dispatchSecret,
		keyPrefix,
		logFile: options.logFile,
		get pid() {
			return running.pid;
		},
		async kill() {
			process.kill(-running.pid, 'SIGKILL');
			while (groupAlive(running.pid)) await sleep(50);
		},
		async restart() {
			running = await start();
		},
		async stop() {
			await running.stop();
			await deletePrefixedKeys(options.redisUrl, keyPrefix);
		},
	};
}

export function loadTemplate(file: string): WorkflowJson {
	return JSON.parse(readFileSync(join(WORKFLOWS, file), 'utf8')) as WorkflowJson;
}

/**
 * Creates the three credentials the templates name (service, SMTP, dispatch secret), imports the
 * intake, worker and status templates with unique names and webhook paths, and publishes them.
 */
export async function installCampaignTemplates(
	n8n: N8nApi,
	options: InstallOptions,
): Promise<CampaignTemplates> {
	const suffix = tag();
	const credential = async (type: string, name: string, data: object) => {
		const unique = `${name} ${suffix}`;
		return {
			type,
			ref: { id: await n8n.createCredential({ name: unique, type, data }), name: unique },
		};
	};
	const credentials = [
		await credential('batchGuardianApi', 'Batch Guardian', {
			baseUrl: options.service.url,
			apiKey: options.service.apiKey,
		}),
		await credential('smtp', 'Test SMTP', {
			user: '',
			password: '',
			host: options.smtp.host,
			port: options.smtp.port,
			secure: false,
			disableStartTls: true,
		}),
		await credential('httpHeaderAuth', 'Dispatch secret', {
			name: 'x-batch-guardian-secret',
			value: options.service.dispatchSecret,
		}),
	];
	const paths = {
		intake: `email-campaign-${suffix}`,
		worker: `email-campaign-worker-${suffix}`,
		status: `email-campaign-status-${suffix}`,
	};
	const prepare = (file: string, path: string) => {
		const json = loadTemplate(file);
		json.name = `${json.name} ${suffix}`;
		for (const node of json.nodes as TemplateNode[]) {
			node.id = randomUUID();
			if (node.webhookId) node.webhookId = randomUUID();
			if (node.type === 'n8n-nodes-base.webhook') node.parameters.path = path;
			for (const type of Object.keys(node.credentials ?? {})) {
				const found = credentials.find((c) => c.type === type);
				if (found) node.credentials![type] = { ...found.ref };
			}
			options.patch?.(file, node);
		}
		return json;
	};
	const publish = async (json: WorkflowJson) => {
		const id = await n8n.createWorkflow(json);
		await publishWorkflow(n8n, id);
		return id;
	};
	const workerId = await publish(prepare('email-campaign-worker.json', paths.worker));
	const intakeId = await publish(prepare('email-campaign-intake.json', paths.intake));
	const statusId = await publish(prepare('email-campaign-status.json', paths.status));
	return {
		intakeId,
		workerId,
		statusId,
		intakePath: paths.intake,
		workerPath: paths.worker,
		statusPath: paths.status,
		workerUrl: n8n.webhookUrl(paths.worker),
		credentials: Object.fromEntries(credentials.map((c) => [c.type, c.ref])),
	};
}

/** The item key Split Into Chunks gives a recipient (field `email`, Hash Keys on). */
export const recipientKey = (email: string) =>
	`h-${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 40)}`;

/** `count` addresses spread over a few domains, numbered so tests can pick some to fail. */
export function recipients(count: number, prefix = 'r'): string[] {
	const domains = ['example.test', 'mail.example.test', 'corp.example.test', 'news.example.test'];
	return Array.from({ length: count }, (_, n) => `${prefix}${n}@${domains[n % domains.length]}`);
}

/** What the intake webhook takes; `from` and `text` have test defaults, workerUrl is the templates'. */
export interface CampaignRequest {
	campaignId: string;
	subject: string;
	recipients: unknown[];
	from?: string;
	text?: string;
	reportTo?: string;
}

/** POSTs a campaign to the installed intake template, as a user's curl would; answers its reply. */
export async function postCampaign<T = Record<string, unknown>>(
	n8n: N8nApi,
	templates: CampaignTemplates,
	campaign: CampaignRequest,
	timeoutMs: number,
): Promise<HttpAnswer<T>> {
	return await n8n.callWebhook<T>(
		templates.intakePath,
		{
			from: 'news@sender.test',
			text: 'hi',
			...campaign,
			workerUrl: templates.workerUrl,
		},
		{ timeoutMs },
	);
}

export interface Progress {
	batchId: string;
	state: string;
	percent: number;
	counts: Record<string, number>;
	errorClasses: Record<string, { count: number }>;
}

export interface ServiceClient {
	request<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
}

export function serviceClient(service: { url: string; apiKey: string }): ServiceClient {
	return {
		async request<T>(method: string, path: string, body?: unknown): Promise<T> {
			const response = await fetch(`${service.url}${path}`, {
				method,
				headers: {
					'x-api-key': service.apiKey,
					...(body === undefined ? {} : { 'content-type': 'application/json' }),
				},
				body: body === undefined ? undefined : JSON.stringify(body),
				signal: AbortSignal.timeout(70_000),
			});
			const text = await response.text();
			if (!response.ok) throw new Error(`${method} ${path}: HTTP ${response.status} ${text}`);
			return JSON.parse(text) as T;
		},
	};
}

/** Polls until the campaign's batch is terminal; bounded, and says where it stood otherwise. */
export async function waitForCampaign(
	service: ServiceClient,
	batchId: string,
	timeoutMs: number,
	onProgress?: (progress: Progress) => void,
): Promise<Progress> {
	const deadline = Date.now() + timeoutMs;
	let last: Progress | undefined;
	while (Date.now() < deadline) {
		last = await service
			.request<Progress>('GET', `/v1/batches/${encodeURIComponent(batchId)}`)
			.catch(() => last);
		if (last) onProgress?.(last);
		if (last && TERMINAL.includes(last.state)) return last;
		await sleep(1000);
	}
	throw new Error(`campaign ${batchId} not done after ${timeoutMs} ms: ${JSON.stringify(last)}`);
}

export interface DeadLetter {
	key: string;
	class: string;
	message: string;
	inDoubt?: { lease: string; leaseStartedAt: string | null; leaseExpiredAt: string | null };
}

export async function deadLetters(service: ServiceClient, batchId: string): Promise<DeadLetter[]> {
	const answer = await service.request<{ deadLetters: DeadLetter[] }>(
		'GET',
		`/v1/batches/${encodeURIComponent(batchId)}/dead-letters?limit=1000`,
	);
	return answer.deadLetters;
}

/** Messages of one campaign (its subject) accepted by the sink, per lower-cased recipient. */
export function deliveries(sink: SmtpSink, subject: string): Map<string, number> {
	const counts = new Map<string, number>();
	for (const message of sink.messages) {
		if (message.subject !== subject) continue;
		for (const recipient of message.to) {
			const key = recipient.toLowerCase();
			counts.set(key, (counts.get(key) ?? 0) + 1);
		}
	}
	return counts;
}

/** The intake execution of a campaign: the one whose Split Into Chunks wrote its batchId. */
export async function intakeExecution(
	n8n: N8nApi,
	intakeId: string,
	batchId: string,
	predicate: (execution: Execution) => boolean,
	timeoutMs: number,
): Promise<Execution> {
	return await n8n.waitForExecution(
		intakeId,
		(execution) =>
			(execution.data?.resultData.metadata as Record<string, string> | undefined)?.batchId ===
				batchId && predicate(execution),
		timeoutMs,
	);
}

/** The last node's first output item of an execution (the intake ends with its Campaign Report). */
export function lastOutput(execution: Execution): Record<string, unknown> | undefined {
	const result = execution.data?.resultData;
	const runs = result?.lastNodeExecuted ? result.runData[result.lastNodeExecuted] : undefined;
	const data = runs?.[runs.length - 1]?.data as
		{ main?: Array<Array<{ json: Record<string, unknown> }>> } | undefined;
	return data?.main?.[0]?.[0]?.json;
}
