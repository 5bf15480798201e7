import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { MAX_ITEMS_PER_REQUEST } from '../../../../shared/contract';
import { perRunReader } from '../../../../shared/parameters';
import { runItems, type ItemOutcome } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import {
	byLimiterKey,
	limiterPath,
	readLimiterItem,
	type LimiterItem,
} from '../../helpers/limiter-items';

export const option = {
	name: 'Split',
	action: 'Split items into allowed and limited',
	description:
		'Items with tokens available now go to Allowed, the rest to Limited with retryAfterMs; never waits',
};

export const description: INodeProperties[] = [];

interface TakeAnswer {
	granted: number;
	retryAfterMs: number;
}

const ALLOWED = 0;
const LIMITED = 1;

/**
 * Never waits: items whose tokens are available now go to the first output, in input order;
 * the rest go to `Limited` with retryAfterMs (when the next of them could pass). Checkpoint
 * Record Results gives Limited items back to their batch as released, costing no attempt.
 */
export async function execute(this: IExecuteFunctions) {
	const read = perRunReader(this);
	return await runItems(this, {
		outputs: 2,
		read(itemIndex) {
			return readLimiterItem.call(this, itemIndex, true, read);
		},
		groupBy: byLimiterKey,
		async run(group: LimiterItem[]): Promise<ItemOutcome[]> {
			const outcomes: ItemOutcome[] = [];
			for (let start = 0; start < group.length; start += MAX_ITEMS_PER_REQUEST) {
				const page = group.slice(start, start + MAX_ITEMS_PER_REQUEST);
				let answer: TakeAnswer;
				try {
					answer = await serviceRequest<TakeAnswer>(
						this,
						'POST',
						limiterPath(group[0].limiterKey, 'take'),
						{
							body: { costs: page.map((item) => item.cost), settings: { ...group[0].settings } },
							itemIndex: page[0].itemIndex,
						},
					);
				} catch (error) {
					// Earlier pages keep their tokens; this page and the rest fail with the error.
					return [...outcomes, ...group.slice(start).map(() => ({ error }))];
				}
				outcomes.push(...page.slice(0, answer.granted).map(() => ({ output: ALLOWED })));
				if (answer.granted < page.length) {
					// Keep input order: once one item is limited, every later item of the key is too.
					const limited = { output: LIMITED, add: { retryAfterMs: answer.retryAfterMs } };
					return [...outcomes, ...group.slice(outcomes.length).map(() => limited)];
				}
			}
			return outcomes;
		},
	});
}
