import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { checkNumber } from '../../../../shared/parameters';
import { runPerItem } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import { readBatchItem, type BatchItem } from './batch-request';

const show = { show: { operation: ['waitForCompletion'] } };

export const option = {
	name: 'Wait for Completion',
	action: 'Wait for a batch to finish',
	description: 'The service holds the request until the batch finishes, bounded by a max wait',
};

/** The service holds one long-poll at most this long (service/API.md). */
export const MAX_POLL_MS = 60_000;
/** Room for the answer to travel back after the service's own deadline. */
const POLL_MARGIN_MS = 15_000;

export const description: INodeProperties[] = [
	{
		displayName: 'Max Wait (Seconds)',
		name: 'maxWaitSeconds',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 86400 },
		default: 300,
		description:
			'Longest total wait. The service holds each request up to 60 s, so longer waits are several requests, never a timer.',
		displayOptions: show,
	},
	{
		displayName: 'Fail on Timeout',
		name: 'failOnTimeout',
		type: 'boolean',
		default: false,
		description:
			'Whether to fail the item when the batch is not finished within the max wait; otherwise it is returned with done: false',
		displayOptions: show,
	},
];

interface WaitAnswer {
	done: boolean;
	progress: IDataObject;
}

interface WaitItem extends BatchItem {
	maxWaitMs: number;
	failOnTimeout: boolean;
}

function readWait(this: IExecuteFunctions, itemIndex: number): WaitItem {
	const maxWaitSeconds = checkNumber.call(
		this,
		this.getNodeParameter('maxWaitSeconds', itemIndex, 300),
		'Max Wait (Seconds)',
		{ min: 1, max: 86_400 },
		itemIndex,
	);
	return {
		...readBatchItem.call(this, itemIndex),
		maxWaitMs: maxWaitSeconds * 1000,
		failOnTimeout: this.getNodeParameter('failOnTimeout', itemIndex, false) as boolean,
	};
}

export async function execute(this: IExecuteFunctions) {
	return await runPerItem(this, readWait, waitForCompletion);
}

/** Long-polls until the batch is terminal or the max wait is spent; bounded in time and requests. */
async function waitForCompletion(
	this: IExecuteFunctions,
	{ itemIndex, batchId, maxWaitMs, failOnTimeout }: WaitItem,
): Promise<IDataObject> {
	const started = Date.now();
	// A service that answers early (not done) must not turn this into a hot loop without end.
	const maxRequests = Math.ceil(maxWaitMs / 1000) + 1;
	let answer: WaitAnswer | undefined;
	for (let request = 0; request < maxRequests; request++) {
		const remaining = maxWaitMs - (Date.now() - started);
		if (request > 0 && remaining <= 0) break;
		const timeoutMs = Math.max(0, Math.min(MAX_POLL_MS, remaining));
		answer = await serviceRequest<WaitAnswer>(
			this,
			'GET',
			`/v1/batches/${encodeURIComponent(batchId)}/wait`,
			{ qs: { timeoutMs }, itemIndex, timeout: timeoutMs + POLL_MARGIN_MS },
		);
		if (answer.done) break;
	}
	const waitedMs = Date.now() - started;
	const done = answer?.done === true;
	if (!done && failOnTimeout) {
		throw new NodeOperationError(
			this.getNode(),
			`Batch '${batchId}' did not finish within ${maxWaitMs / 1000} s`,
			{
				itemIndex,
				description: `It is ${String(answer?.progress?.state ?? 'unknown')} at ${String(answer?.progress?.percent ?? '?')} %. Raise Max Wait or check the batch with Get.`,
			},
		);
	}
	return { ...(answer?.progress ?? { batchId }), done, waitedMs };
}
