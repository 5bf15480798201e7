import type { INodeProperties } from 'n8n-workflow';

import { optionsCollection } from '../../../../shared/node-builder';
import { pickOptions } from '../../helpers/batch-options';
import { directSmtpProperties } from '../../helpers/direct-smtp';

const show = { show: { operation: ['submitBatch'] } };
/** Loop takes its items like Submit Batch; Ranges makes its own keys. */
const keyed = { show: { operation: ['submitBatch', 'loop'] } };

/** Parameters of Submit Batch; labels, defaults and ranges of batch settings from the contract. */
export const submitBatchProperties: INodeProperties[] = [
	{
		displayName: 'Batch Key',
		name: 'batchKey',
		type: 'string',
		required: true,
		default: '={{ $workflow.id }}-{{ $execution.id }}',
		description:
			'Names the batch: submitting again with the same key returns the same batch and only adds items it does not have yet, and a Loop run again with it resumes at the first unfinished chunk. Use a stable key (e.g. campaign-2026-11) to make re-runs safe.',
		displayOptions: { show: { operation: ['submitBatch', 'loop', 'ranges'] } },
	},
	{
		displayName: 'Delivery',
		name: 'delivery',
		type: 'options',
		noDataExpression: true,
		default: 'webhook',
		options: [
			{
				name: 'Worker Workflow',
				value: 'webhook',
				description:
					'The service POSTs each chunk to a worker workflow; without a worker URL, Checkpoint Claim works the items',
			},
			{
				name: 'Direct SMTP',
				value: 'smtp',
				description:
					'The service sends each item as an e-mail itself, over a pooled SMTP transport it is configured with',
			},
		],
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
		displayOptions: { show: { operation: ['submitBatch'], delivery: ['webhook'] } },
	},
	...directSmtpProperties,
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
		displayOptions: keyed,
	},
	{
		displayName: 'Key Field',
		name: 'keyField',
		type: 'string',
		default: 'id',
		placeholder: 'e.g. customer.email',
		description: 'Name of the field holding the key; dots reach into nested objects',
		displayOptions: { show: { operation: ['submitBatch', 'loop'], keySource: ['field'] } },
	},
	{
		displayName: 'Key',
		name: 'keyValue',
		type: 'string',
		default: '={{ $json.id }}',
		description: 'Expression giving the key of the current item',
		displayOptions: { show: { operation: ['submitBatch', 'loop'], keySource: ['expression'] } },
	},
	optionsCollection(
		'submitBatch',
		pickOptions(
			'adaptiveChunkSize',
			'backoffInitialMs',
			'backoffMaxMs',
			'metadata',
			'chunkSize',
			'completionUrl',
			'concurrency',
			'failureMinSample',
			'failureRatio',
			'inDoubt',
			'limiterKey',
			'maxAttempts',
			'milestoneUrl',
			'onMissingKey',
			'hashKeys',
			'priority',
			'timeoutMs',
			'pageSize',
		),
	),
];
