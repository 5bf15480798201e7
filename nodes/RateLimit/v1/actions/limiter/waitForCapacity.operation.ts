import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { readLimit } from '../../../../shared/limits';
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
	name: 'Wait for Capacity',
	action: 'Wait until the rate limit allows the items',
	description:
		'The service holds the execution until tokens for the items are granted, or Max Wait runs out',
};

export const description: INodeProperties[] = [];

interface AcquireAnswer {
	granted: boolean;
	waitedMs: number;
	retryAfterMs: number;
}

/** The service answers within maxWaitMs; this margin covers the request itself. */
const REQUEST_MARGIN_MS = 30_000;

interface WaitingItem extends LimiterItem {
	maxWaitMs: number;
}

/**
 * Items pass once the service grants their tokens. Items of one key are acquired together, in
 * slices of at most Capacity tokens (a larger acquire could never be granted); Max Wait bounds
 * the whole execution. Items whose slice is refused fail with retryAfterMs.
 */
export async function execute(this: IExecuteFunctions) {
	const read = perRunReader(this);
	return await runItems(this, {
		read(itemIndex): WaitingItem {
			return {
				...readLimiterItem.call(this, itemIndex, true, read),
				maxWaitMs: readLimit.call(
					this,
					'maxWaitMs',
					read('maxWaitMs', itemIndex, undefined),
					itemIndex,
				),
			};
		},
		groupBy: byLimiterKey,
		async run(group: WaitingItem[]): Promise<ItemOutcome[]> {
			const { limiterKey, settings, maxWaitMs } = group[0];
			let remainingMs = maxWaitMs;
			const outcomes: ItemOutcome[] = [];
			for (const slice of sliceByCapacity(group, settings.capacity)) {
				const itemIndex = slice[0].itemIndex;
				const cost = slice.reduce((sum, item) => sum + item.cost, 0);
				let answer: AcquireAnswer;
				try {
					answer = await serviceRequest<AcquireAnswer>(
						this,
						'POST',
						limiterPath(limiterKey, 'acquire'),
						{
							body: { cost, maxWaitMs: remainingMs, settings: { ...settings } },
							itemIndex,
							timeout: remainingMs + REQUEST_MARGIN_MS,
						},
					);
				} catch (error) {
					return [...outcomes, ...group.slice(outcomes.length).map(() => ({ error }))];
				}
				if (!answer.granted) {
					const error = new NodeOperationError(
						this.getNode(),
						`No capacity on limiter '${limiterKey}' within ${maxWaitMs} ms`,
						{
							itemIndex,
							description: `Retry after ${answer.retryAfterMs} ms, raise Max Wait, or use the Split operation to send limited items down their own output.`,
						},
					);
					const refused = { error, add: { retryAfterMs: answer.retryAfterMs } };
					return [...outcomes, ...group.slice(outcomes.length).map(() => refused)];
				}
				remainingMs = Math.max(0, remainingMs - answer.waitedMs);
				outcomes.push(...slice.map(() => ({})));
			}
			return outcomes;
		},
	});
}

/** Consecutive items packed into slices whose cost stays within capacity. */
export function sliceByCapacity<T extends LimiterItem>(items: T[], capacity: number): T[][] {
	const slices: T[][] = [];
	let current: T[] = [];
	let cost = 0;
	for (const item of items) {
		if (current.length > 0 && cost + item.cost > capacity) {
			slices.push(current);
			current = [];
			cost = 0;
		}
		current.push(item);
		cost += item.cost;
	}
	if (current.length > 0) slices.push(current);
	return slices;
}
