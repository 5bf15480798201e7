import type { INodeProperties } from 'n8n-workflow';

const show = { show: { operation: ['submitBatch'] } };

/** Parameters of Submit Batch; defaults mirror the service's (service/API.md). */
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
		required: true,
		default: '',
		placeholder: 'http://localhost:5678/webhook/batch-worker',
		description:
			"Production URL of the worker workflow's Webhook; the service POSTs every chunk there",
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
		placeholder: 'e.g. id or customer.email',
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
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Backoff Initial (Ms)',
				name: 'backoffInitialMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				description:
					'Wait before the first retry of a failed item; doubles per attempt, with jitter',
			},
			{
				displayName: 'Backoff Max (Ms)',
				name: 'backoffMaxMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 300000,
				description: 'Longest wait between two attempts of an item',
			},
			{
				displayName: 'Chunk Size',
				name: 'chunkSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 100,
				description: 'Items per worker execution (1-10000)',
			},
			{
				displayName: 'Concurrency',
				name: 'concurrency',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 1000 },
				default: 4,
				description: 'Chunks of this batch in flight at once (1-1000)',
			},
			{
				displayName: 'Failure Threshold Minimum Sample',
				name: 'failureMinSample',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 100,
				description: 'Processed items needed before the failure threshold can abort the batch',
			},
			{
				displayName: 'Failure Threshold Ratio',
				name: 'failureRatio',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 1, numberPrecision: 3 },
				default: 0,
				description:
					'Abort the batch when dead-lettered / processed items pass this ratio (0-1); 0 never aborts',
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
			{
				displayName: 'Max Attempts',
				name: 'maxAttempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 100 },
				default: 5,
				description: 'Attempts per item before it is dead-lettered (1-100)',
			},
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
			{
				displayName: 'Priority',
				name: 'priority',
				type: 'number',
				typeOptions: { minValue: 0, maxValue: 100 },
				default: 0,
				description: 'Dispatch order among batches: 0 is the highest, 100 the lowest',
			},
			{
				displayName: 'Timeout (Ms)',
				name: 'timeoutMs',
				type: 'number',
				typeOptions: { minValue: 1000 },
				default: 120000,
				description:
					'How long the service waits for the worker webhook to answer a chunk; unanswered items are retried',
			},
			{
				displayName: 'Upload Page Size',
				name: 'pageSize',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10000 },
				default: 1000,
				description:
					'Most items sent to the service in one request; pages are also kept under about 1 MB',
			},
		],
	},
];
