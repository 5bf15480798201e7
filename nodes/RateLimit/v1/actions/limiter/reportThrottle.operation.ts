import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { BATCH_LIMITS, parseRetryAfter } from '../../../../shared/contract';
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
	name: 'Report Throttle',
	action: 'Report a throttle from downstream',
	description:
		'A 429 or Retry-After seen downstream pauses the key for every caller (and slows adaptive keys)',
};

export const description: INodeProperties[] = [
	{
		displayName: 'Retry After',
		name: 'retryAfter',
		type: 'string',
		default: '',
		placeholder: "={{ $json.headers['retry-after'] }}",
		description:
			"The downstream's Retry-After: a number (see Retry After Unit) or an HTTP date. Empty pauses the key for one second.",
		displayOptions: { show: { operation: ['reportThrottle'] } },
	},
	{
		displayName: 'Retry After Unit',
		name: 'retryAfterUnit',
		type: 'options',
		default: 'seconds',
		options: [
			{ name: 'Seconds (Retry-After Header)', value: 'seconds' },
			{ name: 'Milliseconds', value: 'milliseconds' },
		],
		displayOptions: { show: { operation: ['reportThrottle'] } },
	},
];

/** Milliseconds to pause, from a Retry-After value; undefined when there is none. */
export function readRetryAfter(
	this: IExecuteFunctions,
	raw: unknown,
	unit: string,
	itemIndex: number,
): number | undefined {
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
		return undefined;
	}
	const text = String(raw).trim();
	// Seconds and HTTP dates as servers send them; a plain number may also be milliseconds.
	const pauseMs =
		unit === 'milliseconds' && /^\d+(\.\d+)?$/.test(text)
			? Number(text)
			: parseRetryAfter(typeof raw === 'number' ? raw : text);
	const max = BATCH_LIMITS.retryAfterMs.max;
	if (pauseMs === undefined || !Number.isFinite(pauseMs) || pauseMs > max) {
		throw new NodeOperationError(
			this.getNode(),
			`'Retry After' must be a non-negative number or an HTTP date of at most a day ahead, got '${text.slice(0, 60)}'`,
			{ itemIndex },
		);
	}
	return Math.ceil(pauseMs);
}

interface ThrottleItem extends LimiterItem {
	pauseMs?: number;
}

/**
 * A 429 seen downstream pauses the key for every caller; adaptive keys also slow down. Items of
 * one key are reported once, with the longest pause among them; they pass on with the limiter
 * state under `limiter`.
 */
export async function execute(this: IExecuteFunctions) {
	const read = perRunReader(this);
	return await runItems(this, {
		read(itemIndex): ThrottleItem {
			return {
				...readLimiterItem.call(this, itemIndex, false, read),
				pauseMs: readRetryAfter.call(
					this,
					this.getNodeParameter('retryAfter', itemIndex, ''),
					this.getNodeParameter('retryAfterUnit', itemIndex, 'seconds') as string,
					itemIndex,
				),
			};
		},
		groupBy: byLimiterKey,
		async run(group: ThrottleItem[]): Promise<ItemOutcome[]> {
			const pauses = group.map((item) => item.pauseMs).filter((ms) => ms !== undefined);
			const state = await serviceRequest<IDataObject>(
				this,
				'POST',
				limiterPath(group[0].limiterKey, 'throttle'),
				{
					body: {
						...(pauses.length > 0 ? { retryAfterMs: Math.max(...pauses) } : {}),
						settings: { ...group[0].settings },
					},
					itemIndex: group[0].itemIndex,
				},
			);
			return group.map(() => ({ add: { limiter: state } }));
		},
	});
}
