import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import type { SkipReason } from '../../../../shared/contract';
import { claimId, executionRef, setExecutionCustomData } from '../../../../shared/custom-data';
import { limitProperty, readLimit } from '../../../../shared/limits';
import { optionsCollection } from '../../../../shared/node-builder';
import { runItems, type ItemOutcome } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import {
	batchPath,
	byBatchAndLease,
	checkpointReader,
	type CheckpointItem,
} from '../../helpers/item-fields';

export const option = {
	name: 'Claim',
	action: 'Claim the items of a batch before processing them',
	description:
		'Pass on only items not finished and not leased by a live attempt; the rest go to Skipped with the reason',
};

export const description: INodeProperties[] = [
	optionsCollection('claim', [
		limitProperty(
			'leaseMs',
			'Without a lease: how long the claimed items stay reserved for this execution before others may take them',
		),
		limitProperty(
			'claimMaxItems',
			'Without a lease: take at most this many items (0 = all that are free); the rest go to Skipped as over_max_items, free for the next execution. Set it to what this execution can send within its rate limit, so concurrent executions share the work instead of one leasing everything',
		),
	]),
];

interface ClaimAnswer {
	claimed?: string[];
	skipped?: Array<{ key: string; reason: SkipReason; dueAt?: string }>;
	lease?: string;
}

/** Not a service reason: the same key came twice in this input, and only the first is worked. */
const DUPLICATE = 'duplicate';

const CLAIMED = 0;
const SKIPPED = 1;

/**
 * Claim: one request per batch for all items. Claimed items go to output 1 unchanged (plus the
 * lease when the service made one); the rest to Skipped with the service's reason (and `dueAt`
 * for items waiting for their retry). Errors go to Skipped too, so a failed claim is never worked.
 */
export async function execute(this: IExecuteFunctions) {
	const options = this.getNodeParameter('options', 0, {}) as {
		leaseMs?: number;
		claimMaxItems?: number;
	};
	return await runItems(this, {
		outputs: 2,
		errorOutput: SKIPPED,
		read: checkpointReader(this),
		groupBy: byBatchAndLease,
		async run(group: CheckpointItem[]): Promise<ItemOutcome[]> {
			const { batchId, lease, chunkIndex, itemIndex: first } = group[0];
			setExecutionCustomData(this, { batchId, chunkIndex });
			const keys = [...new Set(group.map((item) => item.key))];
			const body: IDataObject = { keys, execution: executionRef(this) };
			if (lease) body.lease = lease;
			else {
				body.leaseMs = readLimit.call(this, 'leaseMs', options.leaseMs, first);
				body.claimId = claimId(this, keys);
				const maxItems = readLimit.call(this, 'claimMaxItems', options.claimMaxItems, first);
				if (maxItems > 0) body.maxItems = maxItems;
			}
			const answer = await serviceRequest<ClaimAnswer>(this, 'POST', batchPath(batchId, 'claim'), {
				body,
				itemIndex: first,
			});
			const won = new Set(answer.claimed ?? []);
			const skipped = new Map((answer.skipped ?? []).map((entry) => [entry.key, entry]));
			const seen = new Set<string>();
			return group.map(({ key }): ItemOutcome => {
				const repeated = seen.has(key);
				seen.add(key);
				if (!repeated && won.has(key)) {
					return { output: CLAIMED, add: !lease && answer.lease ? { lease: answer.lease } : {} };
				}
				const entry = skipped.get(key);
				const add: IDataObject = {
					skipReason: repeated ? DUPLICATE : (entry?.reason ?? 'unknown'),
				};
				if (!repeated && entry?.dueAt) add.dueAt = entry.dueAt;
				return { output: SKIPPED, add };
			});
		},
	});
}
