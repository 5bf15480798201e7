import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';

import { checkNumber } from '../../../shared/parameters';
import { asNodeError, failedItem } from '../../../shared/run-items';
import { serviceRequest } from '../../../shared/transport';
import { groupByBatch, itemFieldProperties, readAll } from '../helpers/item-fields';

export const description: INodeProperties[] = [
	...itemFieldProperties(['claim']),
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: { show: { operation: ['claim'] } },
		options: [
			{
				displayName: 'Lease Duration (Ms)',
				name: 'leaseMs',
				type: 'number',
				typeOptions: { minValue: 1000 },
				default: 60000,
				description:
					'Without a lease: how long the claimed items stay reserved for this execution before others may take them',
			},
		],
	},
];

interface ClaimAnswer {
	claimed: string[];
	skipped: Array<{ key: string; reason: string }>;
	lease?: string;
}

/**
 * Claim: one request per batch for all items. Claimed items go to output 1 unchanged (plus the
 * lease when the service made one); finished, leased or unknown ones to output 2 with the reason.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const input = this.getInputData();
	const options = this.getNodeParameter('options', 0, {}) as { leaseMs?: number };
	const { items, failures } = readAll.call(this);
	const claimed: Array<INodeExecutionData | undefined> = [];
	const skipped: Array<INodeExecutionData | undefined> = [];
	for (const group of groupByBatch(items)) {
		const { batchId, lease, itemIndex: first } = group[0];
		try {
			const body: IDataObject = { keys: [...new Set(group.map((item) => item.key))] };
			if (lease) body.lease = lease;
			else {
				body.leaseMs = checkNumber.call(
					this,
					options.leaseMs ?? 60_000,
					'Lease Duration (Ms)',
					{ min: 1000, max: 86_400_000 },
					first,
				);
			}
			const answer = await serviceRequest<ClaimAnswer>(
				this,
				'POST',
				`/v1/batches/${encodeURIComponent(batchId)}/claim`,
				{ body, itemIndex: first },
			);
			const won = new Set(answer.claimed ?? []);
			const reasons = new Map((answer.skipped ?? []).map((entry) => [entry.key, entry.reason]));
			for (const { itemIndex, key } of group) {
				const json = input[itemIndex].json;
				if (won.has(key)) {
					claimed[itemIndex] = {
						json: lease || !answer.lease ? json : { ...json, lease: answer.lease },
						pairedItem: { item: itemIndex },
					};
				} else {
					skipped[itemIndex] = {
						json: { ...json, skipReason: reasons.get(key) ?? 'unknown' },
						pairedItem: { item: itemIndex },
					};
				}
			}
		} catch (error) {
			if (!this.continueOnFail()) throw asNodeError(this, error, first);
			for (const { itemIndex } of group) {
				skipped[itemIndex] = failedItem(
					asNodeError(this, error, itemIndex),
					{ item: itemIndex },
					input[itemIndex].json,
				);
			}
		}
	}
	// Errors join the Skipped output, so a failed claim is never processed by the next node.
	const present = (list: Array<INodeExecutionData | undefined>) =>
		list.filter((entry): entry is INodeExecutionData => entry !== undefined);
	return [present(claimed), [...present(skipped), ...failures]];
}
