import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { ResultStatus } from '../../../../shared/contract';
import { executionRef, setExecutionCustomData } from '../../../../shared/custom-data';
import { readLimit } from '../../../../shared/limits';
import { optionsCollection } from '../../../../shared/node-builder';
import { optionalId } from '../../../../shared/parameters';
import { runItems, type ItemOutcome } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import { failureOf, type ResultError } from '../../helpers/failure';
import {
	batchPath,
	byBatchAndLease,
	checkpointReader,
	type CheckpointItem,
} from '../../helpers/item-fields';

const show = { show: { operation: ['recordResults'] } };

export const option = {
	name: 'Record Results',
	action: 'Record items as succeeded, failed or released',
	description:
		'Failed items are retried with backoff or dead-lettered; released items go back unworked, costing no attempt',
};

export const description: INodeProperties[] = [
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
					"Failed when the item carries an 'error' (error output, Continue On Fail); released when it carries retryAfterMs (Rate Limit's Limited output); otherwise succeeded",
			},
			{ name: 'Succeeded', value: 'succeeded', description: 'Record every item as succeeded' },
			{ name: 'Failed', value: 'failed', description: 'Record every item as failed' },
			{
				name: 'Released',
				value: 'released',
				description:
					'Give every item back unworked: no attempt spent, no failure counted; claimable again after retryAfterMs',
			},
		],
		description: 'How to decide what became of an item',
		displayOptions: show,
	},
	optionsCollection('recordResults', [
		{
			displayName: 'Error Class',
			name: 'errorClass',
			type: 'string',
			default: '',
			placeholder: 'e.g. invalid_recipient',
			description:
				'Class of a failure, used to group dead letters and to retry them by class. Default: http_&lt;status&gt; when known.',
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
					description:
						'Transient for HTTP 408, 425, 429, 5xx, SMTP 4xx (Send Email), timeouts and connection resets',
				},
				{ name: 'Transient (Retry)', value: 'transient' },
				{ name: 'Permanent (Dead-Letter)', value: 'permanent' },
			],
			description: 'Whether a failed item is retried later or dead-lettered at once',
		},
	]),
];

interface RecordAnswer {
	ignored?: Array<{ key: string; reason: string }>;
	/** The chunks the recorded items belong to. */
	chunkIndexes?: number[];
	progress?: IDataObject;
}

interface RecordOptions {
	errorClass?: string;
	transient?: 'auto' | 'transient' | 'permanent';
}

interface Result extends IDataObject {
	key: string;
	status: ResultStatus;
	error?: ResultError;
	retryAfterMs?: number;
}

/** A number of milliseconds the item carries at top level: Rate Limit puts it on held-back items. */
function heldBackFor(json: IDataObject): number | undefined {
	const value = json.retryAfterMs;
	return typeof value === 'number' && Number.isFinite(value) ? Math.ceil(value) : undefined;
}

function resultOf(this: IExecuteFunctions, item: CheckpointItem, options: RecordOptions): Result {
	const { itemIndex, key } = item;
	const json = this.getInputData()[itemIndex].json;
	const mode = this.getNodeParameter('status', itemIndex, 'auto') as string;
	const wait = heldBackFor(json);
	if (mode === 'released' || (mode === 'auto' && wait !== undefined)) {
		const result: Result = { key, status: 'released' };
		if (wait !== undefined)
			result.retryAfterMs = readLimit.call(this, 'retryAfterMs', wait, itemIndex);
		return result;
	}
	const found = failureOf(json);
	if (mode === 'succeeded' || (mode === 'auto' && found === undefined)) {
		return { key, status: 'succeeded' };
	}
	const error: ResultError = found ?? { message: 'Marked as failed by the Checkpoint node' };
	if (options.errorClass?.trim()) {
		error.class = optionalId.call(this, 'options.errorClass', 'Error Class', itemIndex);
	}
	if (options.transient === 'transient') error.transient = true;
	if (options.transient === 'permanent') error.transient = false;
	return { key, status: 'failed', error };
}

/**
 * Record Results: one request per batch for all items; one output entry per input item, starting
 * with the batch, the chunk and the progress the service answered.
 */
export async function execute(this: IExecuteFunctions) {
	const options = this.getNodeParameter('options', 0, {}) as RecordOptions;
	return await runItems(this, {
		read: checkpointReader(this),
		groupBy: byBatchAndLease,
		async run(group: CheckpointItem[]): Promise<ItemOutcome[]> {
			const { batchId, lease, chunkIndex, itemIndex: first } = group[0];
			setExecutionCustomData(this, { batchId, chunkIndex });
			const results = group.map((item) => resultOf.call(this, item, options));
			const body: IDataObject = { results, execution: executionRef(this) };
			if (lease) body.lease = lease;
			const answer = await serviceRequest<RecordAnswer>(
				this,
				'POST',
				batchPath(batchId, 'results'),
				{ body, itemIndex: first },
			);
			const ignored = new Map((answer.ignored ?? []).map((entry) => [entry.key, entry.reason]));
			// Checkpoint-mode items carry no chunk index; the service names it when it is one chunk.
			const chunks = answer.chunkIndexes ?? [];
			const answeredChunk = chunks.length === 1 ? chunks[0] : null;
			return group.map((item, position): ItemOutcome => {
				const { key, status, error, retryAfterMs } = results[position];
				const reason = ignored.get(key);
				return {
					json: {
						batchId,
						chunkIndex: item.chunkIndex ?? answeredChunk,
						progress: answer.progress ?? null,
						key,
						status,
						recorded: reason === undefined,
						...(reason === undefined ? {} : { ignoredReason: reason }),
						...(error ? { failure: error } : {}),
						...(retryAfterMs === undefined ? {} : { retryAfterMs }),
					},
				};
			});
		},
	});
}
