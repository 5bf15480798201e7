import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import {
	checkNumber,
	optionalId,
	perRunReader,
	requireId,
	type ParameterReader,
} from '../../../shared/parameters';
import type { ReadItem } from '../../../shared/run-items';

/**
 * Defaults read the item, then a `body` on it: the dispatch the service POSTs to the worker is
 * `{ batchId, chunkIndex, lease, items: [{ key, json, ... }] }`. After a Split Out of body.items
 * only `key` is on the item; the worker template reads the rest from its Webhook node. Items that
 * Split Into Chunks passed through carry `batchId` and `itemKey`.
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
				"The batch the item belongs to. By default the item's batchId, else its body's (a worker webhook's call). After a Split Out of the webhook's body.items, point it at the Worker Webhook node's body.batchId.",
			displayOptions,
		},
		{
			displayName: 'Item Key',
			name: 'itemKey',
			type: 'string',
			required: true,
			default: '={{ $json.itemKey ?? $json.key ?? $json.id }}',
			description:
				"The item's key in the batch. By default what the item carries: its itemKey field (Split Into Chunks, Pass Items Through), else key (a dispatched chunk), else its ID field. After a node that replaces the item (e.g. HTTP Request), point it at the Claim node's itemKey.",
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

export interface CheckpointItem extends ReadItem {
	batchId: string;
	key: string;
	lease?: string;
	chunkIndex?: number;
}

/**
 * Reads and checks the batch, key and lease of one item; throws naming the item. Made per run:
 * a field that reads the same for every item (e.g. the Worker Webhook's batchId) is read once.
 */
export const checkpointReader = (ctx: IExecuteFunctions) => {
	const read = perRunReader(ctx);
	return function (this: IExecuteFunctions, itemIndex: number): CheckpointItem {
		return readCheckpointItem.call(this, itemIndex, read);
	};
};

function readCheckpointItem(
	this: IExecuteFunctions,
	itemIndex: number,
	read: ParameterReader,
): CheckpointItem {
	const item: CheckpointItem = {
		itemIndex,
		batchId: requireId.call(this, 'batchId', 'Batch ID', itemIndex, read),
		key: requireId.call(this, 'itemKey', 'Item Key', itemIndex, read),
		lease: optionalId.call(this, 'lease', 'Lease', itemIndex, read),
	};
	const chunkIndex = read('chunkIndex', itemIndex, '');
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

/** Items of one batch and lease share one request, usually one per execution. */
export const byBatchAndLease = (item: CheckpointItem) => `${item.batchId}\n${item.lease ?? ''}`;

export const batchPath = (batchId: string, suffix: string) =>
	`/v1/batches/${encodeURIComponent(batchId)}/${suffix}`;
