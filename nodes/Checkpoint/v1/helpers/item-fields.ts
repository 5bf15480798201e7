import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { setExecutionCustomData } from '../../../shared/custom-data';
import { checkNumber, optionalId, requireId } from '../../../shared/parameters';
import { asNodeError, failedItem } from '../../../shared/run-items';

/**
 * Defaults read the item, then a `body` on it: the dispatch the service POSTs to the worker is
 * `{ batchId, chunkIndex, lease, items: [{ key, json, ... }] }`. After a Split Out of body.items
 * only `key` is on the item; the worker template reads the rest from its Webhook node.
 */
export const itemFieldProperties = (operations: string[]): INodeProperties[] => {
	const displayOptions = { show: { operation: operations } };
	return [
		{
			displayName: 'Batch ID',
			name: 'batchId',
			type: 'string',
			required: true,
			default: '={{ $json.batchId ?? $json.body?.batchId }}',
			description:
				"The batch the item belongs to. After a Split Out of the worker webhook's body.items, read it from the webhook: {{ $('Worker Webhook').first().json.body.batchId }}.",
			displayOptions,
		},
		{
			displayName: 'Item Key',
			name: 'itemKey',
			type: 'string',
			required: true,
			default: '={{ $json.key }}',
			description:
				"The item's key in the batch. After a node that replaces the item (e.g. HTTP Request), read it from the Claim node: {{ $('Checkpoint Claim').item.json.key }}.",
			displayOptions,
		},
		{
			displayName: 'Lease',
			name: 'lease',
			type: 'string',
			default: '={{ $json.lease ?? $json.body?.lease }}',
			description:
				'The lease of the current dispatch, so only that attempt may claim or record the items. Leave empty to lease free items for a while (Claim) or record without a lease.',
			displayOptions,
		},
		{
			displayName: 'Chunk Index',
			name: 'chunkIndex',
			type: 'string',
			default: '={{ $json.chunkIndex ?? $json.body?.chunkIndex }}',
			description:
				'Written with the batch ID into the execution custom data, so the Executions list can find the run of a chunk',
			displayOptions,
		},
	];
};

export interface CheckpointItem {
	itemIndex: number;
	batchId: string;
	key: string;
	lease?: string;
	chunkIndex?: number;
}

/** Reads and checks the batch, key and lease of one item; throws naming the item. */
export function readCheckpointItem(this: IExecuteFunctions, itemIndex: number): CheckpointItem {
	const item: CheckpointItem = {
		itemIndex,
		batchId: requireId.call(this, 'batchId', 'Batch ID', itemIndex),
		key: requireId.call(this, 'itemKey', 'Item Key', itemIndex),
		lease: optionalId.call(this, 'lease', 'Lease', itemIndex),
	};
	const chunkIndex = this.getNodeParameter('chunkIndex', itemIndex, '') as unknown;
	if (chunkIndex !== '' && chunkIndex !== undefined && chunkIndex !== null) {
		item.chunkIndex = checkNumber.call(
			this,
			chunkIndex,
			'Chunk Index',
			{ min: 0, max: 1e9 },
			itemIndex,
		);
	}
	return item;
}

/** Items grouped by batch and lease: one service request per group, usually one per execution. */
export function groupByBatch(items: CheckpointItem[]): CheckpointItem[][] {
	const groups = new Map<string, CheckpointItem[]>();
	for (const item of items) {
		const id = `${item.batchId}\n${item.lease ?? ''}`;
		const group = groups.get(id);
		if (group) group.push(item);
		else groups.set(id, [item]);
	}
	return [...groups.values()];
}

/**
 * Reads every input item; a bad one throws (naming it) or, under Continue On Fail, becomes an
 * error entry. Also tags the execution with the batch and chunk for the Executions list.
 */
export function readAll(this: IExecuteFunctions): {
	items: CheckpointItem[];
	failures: INodeExecutionData[];
} {
	const items: CheckpointItem[] = [];
	const failures: INodeExecutionData[] = [];
	const input = this.getInputData();
	for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
		try {
			items.push(readCheckpointItem.call(this, itemIndex));
		} catch (error) {
			const failure = asNodeError(this, error, itemIndex);
			if (!this.continueOnFail()) throw failure;
			failures.push(failedItem(failure, { item: itemIndex }, input[itemIndex].json));
		}
	}
	if (items.length > 0) {
		setExecutionCustomData(this, { batchId: items[0].batchId, chunkIndex: items[0].chunkIndex });
	}
	return { items, failures };
}
