import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { checkNumber } from '../../../shared/parameters';
import { asNodeError } from '../../../shared/run-items';
import { serviceRequest } from '../../../shared/transport';
import {
	failAll,
	failedOutput,
	limiterPath,
	MAX_WAIT_LIMIT_MS,
	passItem,
	readAll,
	readLimiterItem,
	stopOnFailure,
	type LimiterItem,
} from '../helpers/limiter-items';

interface AcquireAnswer {
	granted: boolean;
	waitedMs: number;
	retryAfterMs: number;
}

/** The service answers within maxWaitMs; this margin covers the request itself. */
const REQUEST_MARGIN_MS = 30_000;

/**
 * Items pass once the service grants their tokens. Items of one key are acquired together, in
 * slices of at most Capacity tokens (a larger acquire could never be granted); Max Wait bounds
 * the whole execution. Items whose slice is refused fail with retryAfterMs.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const { groups, failures } = readAll(this, (itemIndex) => ({
		...readLimiterItem.call(this, itemIndex, true),
		maxWaitMs: checkNumber.call(
			this,
			this.getNodeParameter('maxWaitMs', itemIndex),
			'Max Wait (ms)',
			{ min: 0, max: MAX_WAIT_LIMIT_MS },
			itemIndex,
		),
	}));
	// Refuse bad input before taking any tokens, unless failed items may go on their own way.
	stopOnFailure(this, failures);
	const passed = new Set<number>();
	for (const [limiterKey, group] of groups) {
		const { settings, maxWaitMs } = group[0];
		let remainingMs = maxWaitMs;
		const slices = sliceByCapacity(group, settings.capacity);
		for (let index = 0; index < slices.length; index++) {
			const slice = slices[index];
			const cost = slice.reduce((sum, item) => sum + item.cost, 0);
			const itemIndex = slice[0].itemIndex;
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
				failAll(failures, slices.slice(index).flat(), asNodeError(this, error, itemIndex));
				break;
			}
			if (!answer.granted) {
				const refusal = new NodeOperationError(
					this.getNode(),
					`No capacity on limiter '${limiterKey}' within ${maxWaitMs} ms`,
					{
						itemIndex,
						description: `Retry after ${answer.retryAfterMs} ms, raise Max Wait, or use the Split operation to send limited items down their own output.`,
					},
				);
				failAll(failures, slices.slice(index).flat(), refusal, {
					retryAfterMs: answer.retryAfterMs,
				});
				break;
			}
			remainingMs = Math.max(0, remainingMs - answer.waitedMs);
			for (const item of slice) passed.add(item.itemIndex);
		}
	}
	stopOnFailure(this, failures);
	return [
		items.map((item, itemIndex) =>
			passed.has(itemIndex) ? passItem(item, itemIndex) : failedOutput(failures, itemIndex),
		),
	];
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
