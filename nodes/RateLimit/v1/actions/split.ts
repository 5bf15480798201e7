import type { IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';

import { asNodeError } from '../../../shared/run-items';
import { serviceRequest } from '../../../shared/transport';
import {
	failAll,
	failedOutput,
	limiterPath,
	passItem,
	readAll,
	readLimiterItem,
	stopOnFailure,
} from '../helpers/limiter-items';

interface TakeAnswer {
	granted: number;
	retryAfterMs: number;
}

/** The service takes at most this many costs per request. */
const TAKE_PAGE = 10_000;

/**
 * Never waits: items whose tokens are available now go to the first output, in input order;
 * the rest go to `Limited` with retryAfterMs (when the next of them could pass).
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const { groups, failures } = readAll(this, (itemIndex) =>
		readLimiterItem.call(this, itemIndex, true),
	);
	stopOnFailure(this, failures);
	const allowed = new Set<number>();
	const limited = new Map<number, number>();
	for (const [limiterKey, group] of groups) {
		for (let start = 0; start < group.length; start += TAKE_PAGE) {
			const page = group.slice(start, start + TAKE_PAGE);
			let answer: TakeAnswer;
			try {
				answer = await serviceRequest<TakeAnswer>(this, 'POST', limiterPath(limiterKey, 'take'), {
					body: { costs: page.map((item) => item.cost), settings: { ...group[0].settings } },
					itemIndex: page[0].itemIndex,
				});
			} catch (error) {
				failAll(failures, group.slice(start), asNodeError(this, error, page[0].itemIndex));
				break;
			}
			page.slice(0, answer.granted).forEach((item) => allowed.add(item.itemIndex));
			if (answer.granted < page.length) {
				// Keep input order: once one item is limited, every later item of the key is too.
				for (const item of group.slice(start + answer.granted)) {
					limited.set(item.itemIndex, answer.retryAfterMs);
				}
				break;
			}
		}
	}
	stopOnFailure(this, failures);
	const allowedOutput: INodeExecutionData[] = [];
	const limitedOutput: INodeExecutionData[] = [];
	items.forEach((item, itemIndex) => {
		if (allowed.has(itemIndex)) allowedOutput.push(passItem(item, itemIndex));
		else if (limited.has(itemIndex)) {
			limitedOutput.push(passItem(item, itemIndex, { retryAfterMs: limited.get(itemIndex)! }));
		} else allowedOutput.push(failedOutput(failures, itemIndex));
	});
	return [allowedOutput, limitedOutput];
}
