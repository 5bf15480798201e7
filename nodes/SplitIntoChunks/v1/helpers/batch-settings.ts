import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import {
	BATCH_LIMITS,
	IN_DOUBT_POLICIES,
	MAX_ITEMS_PER_REQUEST,
	type InDoubtPolicy,
} from '../../../shared/contract';
import { readLimit } from '../../../shared/limits';
import { checkHttpUrl, checkNumber, requireId } from '../../../shared/parameters';
import { readSmtpSettings } from './direct-smtp';

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
	adaptiveChunkSize?: { settings?: AdaptiveOption };
	metadata?: unknown;
}

/** Options > Adaptive Chunk Size: the service sizes the next chunks from measured durations. */
export interface AdaptiveOption {
	targetSeconds?: number;
	min?: number;
	max?: number;
}

const EXAMPLE_REPORT_URL = 'http://localhost:5678/webhook/batch-report';

const filled = (value: unknown): value is string =>
	typeof value === 'string' && value.trim() !== '';

/**
 * Reads and checks every batch-level parameter before anything is sent: no half-made batch.
 * `dispatched` false (a Loop) sends no worker URL: the loop itself works the chunks.
 */
export function readBatchSettings(
	this: IExecuteFunctions,
	options: SubmitOptions,
	dispatched = true,
): BatchSettings {
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
	const delivery = dispatched ? this.getNodeParameter('delivery', at, 'webhook') : 'webhook';
	// Empty: nothing is dispatched, the items are worked by Checkpoint Claim (checkpoint mode).
	const targetUrl = dispatched ? this.getNodeParameter('targetUrl', at, '') : '';
	if (delivery === 'smtp') {
		settings.delivery = 'smtp';
		settings.smtp = readSmtpSettings.call(this, at);
	} else if (filled(targetUrl)) {
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
	const adaptive = options.adaptiveChunkSize?.settings;
	if (adaptive) settings.adaptiveChunkSize = readAdaptive.call(this, adaptive);
	if (options.metadata !== undefined && options.metadata !== '') {
		settings.meta = readJsonObject.call(this, options.metadata, 'Batch Metadata');
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

/** Target seconds per chunk and the smallest and largest chunk the service may choose. */
function readAdaptive(this: IExecuteFunctions, option: AdaptiveOption): IDataObject {
	const { chunkSize } = BATCH_LIMITS;
	const size = (value: number | undefined, label: string, fallback: number) =>
		checkNumber.call(this, value ?? fallback, label, chunkSize, 0);
	const min = size(option.min, 'Smallest Chunk Size', 10);
	const max = size(option.max, 'Largest Chunk Size', 1000);
	if (max < min) {
		throw new NodeOperationError(
			this.getNode(),
			`'Largest Chunk Size' (${max}) must not be below 'Smallest Chunk Size' (${min})`,
			{ itemIndex: 0 },
		);
	}
	const targetSeconds = readLimit.call(this, 'adaptiveTargetSeconds', option.targetSeconds, 0);
	return { targetSeconds, min, max };
}

/** A JSON object option (Batch Metadata, Add Fields), typed or from an expression. */
export function readJsonObject(this: IExecuteFunctions, raw: unknown, label: string): IDataObject {
	if (raw === undefined || raw === '') return {};
	let value: unknown = raw;
	if (typeof raw === 'string') {
		try {
			value = JSON.parse(raw);
		} catch {
			value = undefined;
		}
	}
	if (value === null || typeof value !== 'object' || Array.isArray(value)) {
		throw new NodeOperationError(this.getNode(), `'${label}' must be a JSON object`, {
			itemIndex: 0,
			description:
				'For example {"until": "2026-05-01T00:00:00Z"}, or an expression giving an object.',
		});
	}
	return value as IDataObject;
}

/** Options > Upload Page Size: items per upload request. */
export function readPageSize(this: IExecuteFunctions, options: SubmitOptions): number {
	const rule = { min: 1, max: MAX_ITEMS_PER_REQUEST };
	return checkNumber.call(this, options.pageSize ?? 1000, 'Upload Page Size', rule, 0);
}
