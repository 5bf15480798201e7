import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { checkHttpUrl, checkNumber, requireId } from '../../../shared/parameters';

/** The create body of POST /v1/batches, built from the node's parameters (read at item 0). */
export interface BatchSettings extends IDataObject {
	batchKey: string;
	targetUrl: string;
	chunkSize: number;
	concurrency: number;
	maxAttempts: number;
	backoff: { initialMs: number; maxMs: number };
	priority: number;
	timeoutMs: number;
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
	onMissingKey?: 'error' | 'hashItem';
	hashKeys?: boolean;
	pageSize?: number;
}

/** Reads and checks every batch-level parameter before anything is sent: no half-made batch. */
export function readBatchSettings(this: IExecuteFunctions, options: SubmitOptions): BatchSettings {
	const at = 0;
	const number = (value: unknown, fallback: number, label: string, min: number, max: number) =>
		checkNumber.call(this, value ?? fallback, label, { min, max }, at);
	const backoff = {
		initialMs: number(options.backoffInitialMs, 1000, 'Backoff Initial (Ms)', 0, 86_400_000),
		maxMs: number(options.backoffMaxMs, 300_000, 'Backoff Max (Ms)', 0, 86_400_000),
	};
	if (backoff.maxMs < backoff.initialMs) {
		throw new NodeOperationError(
			this.getNode(),
			`'Backoff Max (Ms)' (${backoff.maxMs}) must not be below 'Backoff Initial (Ms)' (${backoff.initialMs})`,
			{ itemIndex: at },
		);
	}
	const settings: BatchSettings = {
		batchKey: requireId.call(this, 'batchKey', 'Batch Key', at),
		targetUrl: checkHttpUrl.call(
			this,
			this.getNodeParameter('targetUrl', at, ''),
			'Worker Webhook URL',
			at,
		),
		chunkSize: number(options.chunkSize, 100, 'Chunk Size', 1, 10_000),
		concurrency: number(options.concurrency, 4, 'Concurrency', 1, 1000),
		maxAttempts: number(options.maxAttempts, 5, 'Max Attempts', 1, 100),
		backoff,
		priority: number(options.priority, 0, 'Priority', 0, 100),
		timeoutMs: number(options.timeoutMs, 120_000, 'Timeout (Ms)', 1000, 3_600_000),
	};
	const ratio = checkNumber.call(
		this,
		options.failureRatio ?? 0,
		'Failure Threshold Ratio',
		{ min: 0, max: 1, integer: false },
		at,
	);
	if (ratio > 0) {
		settings.failureThreshold = {
			ratio,
			minSample: number(options.failureMinSample, 100, 'Failure Threshold Minimum Sample', 1, 1e9),
		};
	}
	if (options.limiterKey?.trim()) {
		settings.limiterKey = requireId.call(this, 'options.limiterKey', 'Limiter Key', at);
	}
	if (options.milestoneUrl?.trim()) {
		settings.milestoneUrl = checkHttpUrl.call(
			this,
			options.milestoneUrl,
			'Milestone Notification URL',
			at,
		);
	}
	return settings;
}
