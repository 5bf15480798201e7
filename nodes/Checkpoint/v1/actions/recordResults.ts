import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { optionalId } from '../../../shared/parameters';
import { asNodeError, failedItem } from '../../../shared/run-items';
import { serviceRequest } from '../../../shared/transport';
import { failureOf, type ResultError } from '../helpers/failure';
import {
	groupByBatch,
	itemFieldProperties,
	readAll,
	type CheckpointItem,
} from '../helpers/item-fields';

export const description: INodeProperties[] = [
	...itemFieldProperties(['recordResults']),
	{
		displayName: 'Status',
		name: 'status',
		type: 'options',
		default: 'auto',
		options: [
			{
				name: 'From the Item',
				value: 'auto',
				description:
					"Failed when the item carries an 'error' (error output, Continue On Fail), otherwise succeeded",
			},
			{ name: 'Succeeded', value: 'succeeded', description: 'Record every item as succeeded' },
			{ name: 'Failed', value: 'failed', description: 'Record every item as failed' },
		],
		description: 'How to decide whether an item succeeded',
		displayOptions: { show: { operation: ['recordResults'] } },
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['recordResults'] } },
		options: [
			{
				displayName: 'Error Class',
				name: 'errorClass',
				type: 'string',
				default: '',
				placeholder: 'e.g. invalid_recipient',
				description:
					'Class of a failure, used to group dead letters and to retry them by class. Default: http_<status> when known.',
			},
			{
				displayName: 'Failure Kind',
				name: 'transient',
				type: 'options',
				default: 'auto',
				options: [
					{
						name: 'Decided by the Service',
						value: 'auto',
						description: 'Transient for 408, 425, 429, 5xx, timeouts and connection resets',
					},
					{ name: 'Transient (Retry)', value: 'transient' },
					{ name: 'Permanent (Dead-Letter)', value: 'permanent' },
				],
				description: 'Whether a failed item is retried later or dead-lettered at once',
			},
		],
	},
];

interface RecordAnswer {
	succeeded?: number;
	retryScheduled?: number;
	deadLettered?: number;
	ignored?: Array<{ key: string; reason: string }>;
}

interface RecordOptions {
	errorClass?: string;
	transient?: 'auto' | 'transient' | 'permanent';
}

function resultOf(
	this: IExecuteFunctions,
	item: CheckpointItem,
	options: RecordOptions,
): IDataObject {
	const json = this.getInputData()[item.itemIndex].json;
	const mode = this.getNodeParameter('status', item.itemIndex, 'auto') as string;
	const found = failureOf(json);
	const failed = mode === 'failed' || (mode === 'auto' && found !== undefined);
	if (!failed) return { key: item.key, status: 'succeeded' };
	const error: ResultError = found ?? { message: 'Marked as failed by the Checkpoint node' };
	if (options.errorClass?.trim()) {
		error.class = optionalId.call(this, 'options.errorClass', 'Error Class', item.itemIndex);
	}
	if (options.transient === 'transient') error.transient = true;
	if (options.transient === 'permanent') error.transient = false;
	return { key: item.key, status: 'failed', error };
}

/** Record Results: one request per batch for all items; one output entry per input item. */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const options = this.getNodeParameter('options', 0, {}) as RecordOptions;
	const { items, failures } = readAll.call(this);
	const output: Array<INodeExecutionData | undefined> = [];
	for (const group of groupByBatch(items)) {
		const { batchId, lease, itemIndex: first } = group[0];
		try {
			const results = group.map((item) => resultOf.call(this, item, options));
			const body: IDataObject = { results };
			if (lease) body.lease = lease;
			const answer = await serviceRequest<RecordAnswer>(
				this,
				'POST',
				`/v1/batches/${encodeURIComponent(batchId)}/results`,
				{ body, itemIndex: first },
			);
			const ignored = new Map((answer.ignored ?? []).map((entry) => [entry.key, entry.reason]));
			group.forEach((item, position) => {
				const result = results[position];
				const reason = ignored.get(item.key);
				output[item.itemIndex] = {
					json: {
						batchId,
						key: item.key,
						status: result.status,
						recorded: reason === undefined,
						...(reason === undefined ? {} : { ignoredReason: reason }),
						...(result.error ? { failure: result.error } : {}),
					},
					pairedItem: { item: item.itemIndex },
				};
			});
		} catch (error) {
			if (!this.continueOnFail()) throw asNodeError(this, error, first);
			for (const { itemIndex } of group) {
				output[itemIndex] = failedItem(asNodeError(this, error, itemIndex), { item: itemIndex });
			}
		}
	}
	const recorded = output.filter((entry): entry is INodeExecutionData => entry !== undefined);
	return [[...recorded, ...failures]];
}
