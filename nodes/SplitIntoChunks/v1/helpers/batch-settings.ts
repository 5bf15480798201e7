import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { BATCH_LIMITS, IN_DOUBT_POLICIES, type InDoubtPolicy } from '../../../shared/contract';
import { readLimit } from '../../../shared/limits';
import { checkHttpUrl, requireId } from '../../../shared/parameters';

/** The create body of POST /v1/batches, built from the node's parameters (read at item 0). */
export interface BatchSettings extends IDataObject {
	batchKey: string;
	targetUrl?: string;
	chunkSize: number;
	concurrency: number;
	maxAttempts: number;
	backoff: { initialMs: number; maxMs: number };
	priority: number;
	timeoutMs: number;
	inDoubt: InDoubtPolicy;
}

export interface SubmitOptions {
	chunkSize?: number;
	concurrency?: number;
	maxAttempts?: number;
	backoffInitialMs?: number;
	backoffMaxMs?: number;
	failureRatio?: number;
	failureMinSample?: number;
	priority?: number;
	limiterKey?: string;
	timeoutMs?: number;
	milestoneUrl?: string;
	completionUrl?: string;
	inDoubt?: string;
	onMissingKey?: 'error' | 'hashItem';
	hashKeys?: boolean;
	pageSize?: number;
}

const EXAMPLE_REPORT_URL = 'http://localhost:5678/webhook/batch-report';

const filled = (value: unknown): value is string =>
	typeof value === 'string' && value.trim() !== '';

/** Reads and checks every batch-level parameter before anything is sent: no half-made batch. */
export function readBatchSettings(this: IExecuteFunctions, options: SubmitOptions): BatchSettings {
	const at = 0;
	const limit = (name: keyof typeof BATCH_LIMITS, value: unknown) =>
		readLimit.call(this, name, value, at);
	const backoff = {
		initialMs: limit('backoffInitialMs', options.backoffInitialMs),
		maxMs: limit('backoffMaxMs', options.backoffMaxMs),
	};
	if (backoff.maxMs < backoff.initialMs) {
		const { backoffMaxMs: max, backoffInitialMs: initial } = BATCH_LIMITS;
		throw new NodeOperationError(
			this.getNode(),
			`'${max.label}' (${backoff.maxMs}) must not be below '${initial.label}' (${backoff.initialMs})`,
			{ itemIndex: at },
		);
	}
	const inDoubt = (options.inDoubt ?? 'retry') as InDoubtPolicy;
	if (!IN_DOUBT_POLICIES.includes(inDoubt)) {
		throw new NodeOperationError(
			this.getNode(),
			`'In-Doubt Policy' must be ${IN_DOUBT_POLICIES.join(' or ')}, got '${String(inDoubt)}'`,
			{ itemIndex: at },
		);
	}
	const settings: BatchSettings = {
		batchKey: requireId.call(this, 'batchKey', 'Batch Key', at),
		chunkSize: limit('chunkSize', options.chunkSize),
		concurrency: limit('concurrency', options.concurrency),
		maxAttempts: limit('maxAttempts', options.maxAttempts),
		backoff,
		priority: limit('priority', options.priority),
		timeoutMs: limit('timeoutMs', options.timeoutMs),
		inDoubt,
	};
	// Empty: nothing is dispatched, the items are worked by Checkpoint Claim (checkpoint mode).
	const targetUrl = this.getNodeParameter('targetUrl', at, '');
	if (filled(targetUrl)) {
		settings.targetUrl = checkHttpUrl.call(this, targetUrl, 'Worker Webhook URL', at);
	}
	const ratio = limit('failureRatio', options.failureRatio);
	if (ratio > 0) {
		settings.failureThreshold = {
			ratio,
			minSample: limit('failureMinSample', options.failureMinSample),
		};
	}
	if (filled(options.limiterKey)) {
		settings.limiterKey = requireId.call(this, 'options.limiterKey', 'Limiter Key', at);
	}
	const notifications = [
		['milestoneUrl', 'Milestone Notification URL'],
		['completionUrl', 'Completion URL'],
	] as const;
	for (const [name, label] of notifications) {
		const url = options[name];
		if (filled(url)) {
			settings[name] = checkHttpUrl.call(this, url, label, at, EXAMPLE_REPORT_URL);
		}
	}
	return settings;
}
