import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	INodeProperties,
} from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

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
	type LimiterItem,
} from '../helpers/limiter-items';

const MAX_PAUSE_MS = 86_400_000;

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
export function parseRetryAfter(
	this: IExecuteFunctions,
	raw: unknown,
	unit: string,
	itemIndex: number,
): number | undefined {
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
		return undefined;
	}
	const text = String(raw).trim();
	let pauseMs = Number.NaN;
	if (/^\d+(\.\d+)?$/.test(text)) {
		pauseMs = Number(text) * (unit === 'milliseconds' ? 1 : 1000);
	} else if (typeof raw === 'string' && !Number.isNaN(Date.parse(text))) {
		pauseMs = Math.max(0, Date.parse(text) - Date.now());
	}
	if (!Number.isFinite(pauseMs) || pauseMs > MAX_PAUSE_MS) {
		throw new NodeOperationError(
			this.getNode(),
			`'Retry After' must be a non-negative number or an HTTP date of at most a day ahead, got '${text.slice(0, 60)}'`,
			{ itemIndex },
		);
	}
	return Math.ceil(pauseMs);
}

/**
 * A 429 seen downstream pauses the key for every caller; adaptive keys also slow down. Items of
 * one key are reported once, with the longest pause among them; they pass on with the limiter
 * state under `limiter`.
 */
export async function execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const { groups, failures } = readAll(this, (itemIndex) => ({
		...readLimiterItem.call(this, itemIndex, false),
		pauseMs: parseRetryAfter.call(
			this,
			this.getNodeParameter('retryAfter', itemIndex, ''),
			this.getNodeParameter('retryAfterUnit', itemIndex, 'seconds') as string,
			itemIndex,
		),
	}));
	stopOnFailure(this, failures);
	const states = new Map<number, IDataObject>();
	for (const [limiterKey, group] of groups) {
		const pauses = group.map((item) => item.pauseMs).filter((ms) => ms !== undefined);
		const itemIndex = group[0].itemIndex;
		try {
			const state = await serviceRequest<IDataObject>(
				this,
				'POST',
				limiterPath(limiterKey, 'throttle'),
				{
					body: {
						...(pauses.length > 0 ? { retryAfterMs: Math.max(...pauses) } : {}),
						settings: { ...group[0].settings },
					},
					itemIndex,
				},
			);
			group.forEach((item: LimiterItem) => states.set(item.itemIndex, state));
		} catch (error) {
			failAll(failures, group, asNodeError(this, error, itemIndex));
		}
	}
	stopOnFailure(this, failures);
	return [
		items.map((item, itemIndex) => {
			const state = states.get(itemIndex);
			return state
				? passItem(item, itemIndex, { limiter: state })
				: failedOutput(failures, itemIndex);
		}),
	];
}
