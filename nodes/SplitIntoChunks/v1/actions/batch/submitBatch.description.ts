import type { INodeProperties } from 'n8n-workflow';

import { MAX_ITEMS_PER_REQUEST } from '../../../../shared/contract';
import { limitProperty } from '../../../../shared/limits';
import { optionsCollection } from '../../../../shared/node-builder';

const show = { show: { operation: ['submitBatch'] } };

/** Parameters of Submit Batch; labels, defaults and ranges of batch settings from the contract. */
export const submitBatchProperties: INodeProperties[] = [
	{
		displayName: 'Batch Key',
		name: 'batchKey',
		type: 'string',
		required: true,
		default: '={{ $workflow.id }}-{{ $execution.id }}',
		description:
			'Names the batch: submitting again with the same key returns the same batch and only adds items it does not have yet. Use a stable key (e.g. campaign-2026-11) to make re-runs safe.',
		displayOptions: show,
	},
	{
		displayName: 'Worker Webhook URL',
		name: 'targetUrl',
		type: 'string',
		default: '',
		placeholder: 'http://localhost:5678/webhook/batch-worker',
		description:
			"Production URL of the worker workflow's Webhook; the service POSTs every chunk there. Leave empty to dispatch nothing: the items are then worked by Checkpoint Claim, in this workflow (Pass Items Through) or others.",
		displayOptions: show,
	},
	{
		displayName: 'Output',
		name: 'outputMode',
		type: 'options',
		noDataExpression: true,
		default: 'summary',
		options: [
			{
				name: 'Batch Summary',
				value: 'summary',
				description: 'One item: the batch ID, its state and counts, and what this run uploaded',
			},
			{
				name: 'Pass Items Through',
				value: 'passThrough',
				description:
					'The input items, each with batchId and itemKey added, ready for Checkpoint Claim in this workflow',
			},
		],
		displayOptions: show,
	},
	{
		displayName: 'Item Key From',
		name: 'keySource',
		type: 'options',
		noDataExpression: true,
		default: 'field',
		options: [
			{ name: 'Field', value: 'field', description: 'A field of each item, e.g. ID or email' },
			{
				name: 'Expression',
				value: 'expression',
				description: 'Any expression, evaluated per item',
			},
		],
		description:
			'Where each item gets the key that identifies it: items with the same key are one item (duplicates are skipped), and a retried item keeps its key',
		displayOptions: show,
	},
	{
		displayName: 'Key Field',
		name: 'keyField',
		type: 'string',
		default: 'id',
		placeholder: 'e.g. customer.email',
		description: 'Name of the field holding the key; dots reach into nested objects',
		displayOptions: { show: { operation: ['submitBatch'], keySource: ['field'] } },
	},
	{
		displayName: 'Key',
		name: 'keyValue',
		type: 'string',
		default: '={{ $json.id }}',
		description: 'Expression giving the key of the current item',
		displayOptions: { show: { operation: ['submitBatch'], keySource: ['expression'] } },
	},
	optionsCollection('submitBatch', [
		limitProperty(
			'backoffInitialMs',
			'Wait before the first retry of a failed item; doubles per attempt, with jitter',
		),
		limitProperty('backoffMaxMs', 'Longest wait between two attempts of an item'),
		limitProperty('chunkSize', 'Items per worker execution'),
		{
			displayName: 'Completion URL',
			name: 'completionUrl',
			type: 'string',
			default: '',
			placeholder: 'http://localhost:5678/webhook/batch-done',
			description: 'Gets one POST with the final report when the batch ends',
		},
		limitProperty('concurrency', 'Chunks of this batch in flight at once'),
		limitProperty(
			'failureMinSample',
			'Processed items needed before the failure threshold can abort the batch',
		),
		limitProperty(
			'failureRatio',
			'Abort the batch when dead-lettered / processed items pass this ratio; 0 never aborts',
		),
		{
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
		{
			displayName: 'Limiter Key',
			name: 'limiterKey',
			type: 'string',
			default: '',
			placeholder: 'e.g. smtp-relay',
			description:
				'Pace chunk dispatch with this Rate Limit key, shared with every other user of it',
		},
		limitProperty('maxAttempts', 'Attempts per item before it is dead-lettered'),
		{
			displayName: 'Milestone Notification URL',
			name: 'milestoneUrl',
			type: 'string',
			default: '',
			placeholder: 'http://localhost:5678/webhook/batch-milestone',
			description: 'Gets a POST with the progress at 25, 50, 75 and 100 %',
		},
		{
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
		{
			displayName: 'Hash Keys',
			name: 'hashKeys',
			type: 'boolean',
			default: false,
			description:
				'Whether to use a SHA-256 digest of each key, so keys with any characters (e-mail addresses, URLs) are accepted',
		},
		limitProperty('priority', 'Dispatch order among batches: 0 is the highest, 100 the lowest'),
		limitProperty(
			'timeoutMs',
			'How long the service waits for the worker webhook to answer a chunk; unanswered items are retried',
		),
		{
			displayName: 'Upload Page Size',
			name: 'pageSize',
			type: 'number',
			typeOptions: { minValue: 1, maxValue: MAX_ITEMS_PER_REQUEST },
			default: 1000,
			description:
				'Most items sent to the service in one request; pages are also kept under about 1 MB',
		},
	]),
];
