import type { INodeProperties } from 'n8n-workflow';

import { BATCH_LIMITS, MAX_ITEMS_PER_REQUEST } from '../../../shared/contract';
import { limitProperty } from '../../../shared/limits';

const { chunkSize } = BATCH_LIMITS;

/**
 * The optional batch settings, written once: Submit Batch, Loop and Ranges each pick the ones
 * that apply to them for their Options collection. Labels, defaults and ranges of the numbers
 * come from the wire contract.
 */
export const batchOptions = {
	adaptiveChunkSize: {
		displayName: 'Adaptive Chunk Size',
		name: 'adaptiveChunkSize',
		type: 'fixedCollection',
		default: {},
		placeholder: 'Add Adaptive Sizing',
		description:
			"Let the service size the next chunks from measured chunk durations, so one takes about the target time; Chunk Size is the first chunks' size. Each change is logged and shown in Batch Status.",
		options: [
			{
				displayName: 'Settings',
				name: 'settings',
				values: [
					limitProperty(
						'adaptiveTargetSeconds',
						'How long one chunk should take at the worker, in seconds',
					),
					{
						displayName: 'Smallest Chunk Size',
						name: 'min',
						type: 'number',
						typeOptions: { minValue: chunkSize.min, maxValue: chunkSize.max },
						default: 10,
						description: 'Items per chunk the service never goes below',
					},
					{
						displayName: 'Largest Chunk Size',
						name: 'max',
						type: 'number',
						typeOptions: { minValue: chunkSize.min, maxValue: chunkSize.max },
						default: 1000,
						description: 'Items per chunk the service never goes above',
					},
				],
			},
		],
	},
	backoffInitialMs: limitProperty(
		'backoffInitialMs',
		'Wait before the first retry of a failed item; doubles per attempt, with jitter',
	),
	backoffMaxMs: limitProperty('backoffMaxMs', 'Longest wait between two attempts of an item'),
	metadata: {
		displayName: 'Batch Metadata',
		name: 'metadata',
		type: 'json',
		default: '{}',
		description:
			"A JSON object kept with the batch and returned in the summary. A re-run with the same batch key gets the first run's metadata back, e.g. the time window an incremental copy planned.",
	},
	chunkSize: limitProperty('chunkSize', 'Items per worker execution'),
	completionUrl: {
		displayName: 'Completion URL',
		name: 'completionUrl',
		type: 'string',
		default: '',
		placeholder: 'http://localhost:5678/webhook/batch-done',
		description: 'Gets one POST with the final report when the batch ends',
	},
	concurrency: limitProperty('concurrency', 'Chunks of this batch in flight at once'),
	failureMinSample: limitProperty(
		'failureMinSample',
		'Processed items needed before the failure threshold can abort the batch',
	),
	failureRatio: limitProperty(
		'failureRatio',
		'Abort the batch when dead-lettered / processed items pass this ratio; 0 never aborts',
	),
	inDoubt: {
		displayName: 'In-Doubt Policy',
		name: 'inDoubt',
		type: 'options',
		default: 'retry',
		options: [
			{
				name: 'Retry',
				value: 'retry',
				description:
					'Send the item again: at least once, right for sinks that honour an idempotency key',
			},
			{
				name: 'Hold',
				value: 'hold',
				description:
					'Set the item aside as a dead letter of class in_doubt for an operator: never sent twice, right for e-mail',
			},
		],
		description:
			'What happens to an item whose attempt never reported (the worker died or timed out mid-work): it may or may not have reached the sink',
	},
	limiterKey: {
		displayName: 'Limiter Key',
		name: 'limiterKey',
		type: 'string',
		default: '',
		placeholder: 'e.g. smtp-relay',
		description: 'Pace chunk dispatch with this Rate Limit key, shared with every other user of it',
	},
	maxAttempts: limitProperty('maxAttempts', 'Attempts per item before it is dead-lettered'),
	milestoneUrl: {
		displayName: 'Milestone Notification URL',
		name: 'milestoneUrl',
		type: 'string',
		default: '',
		placeholder: 'http://localhost:5678/webhook/batch-milestone',
		description: 'Gets a POST with the progress at 25, 50, 75 and 100 %',
	},
	onMissingKey: {
		displayName: 'On Missing Key',
		name: 'onMissingKey',
		type: 'options',
		default: 'error',
		options: [
			{
				name: 'Fail the Item',
				value: 'error',
				description: 'The item gets an error naming its index',
			},
			{
				name: 'Use a Hash of the Item',
				value: 'hashItem',
				description: 'Items with identical data then count as duplicates',
			},
		],
		description: 'What to do with an item whose key is missing or empty',
	},
	hashKeys: {
		displayName: 'Hash Keys',
		name: 'hashKeys',
		type: 'boolean',
		default: false,
		description:
			'Whether to use a SHA-256 digest of each key, so keys with any characters (e-mail addresses, URLs) are accepted',
	},
	priority: limitProperty(
		'priority',
		'Dispatch order among batches: 0 is the highest, 100 the lowest',
	),
	timeoutMs: limitProperty(
		'timeoutMs',
		'How long the service waits for the worker webhook to answer a chunk; unanswered items are retried',
	),
	pageSize: {
		displayName: 'Upload Page Size',
		name: 'pageSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: MAX_ITEMS_PER_REQUEST },
		default: 1000,
		description:
			'Most items sent to the service in one request; pages are also kept under about 1 MB',
	},
} satisfies Record<string, INodeProperties>;

export type BatchOptionName = keyof typeof batchOptions;

/** The named options, in the order given (the editor lists them so). */
export const pickOptions = (...names: BatchOptionName[]): INodeProperties[] =>
	names.map((name) => batchOptions[name]);
