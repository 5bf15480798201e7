import type { INodeProperties } from 'n8n-workflow';

import type { InputOperation } from '../../../shared/run-items';
import { limiterProperties } from './description';
import * as reportThrottle from './reportThrottle';
import * as split from './split';
import * as waitForCapacity from './waitForCapacity';

export const operations: Record<string, InputOperation> = {
	waitForCapacity: waitForCapacity.execute,
	split: split.execute,
	reportThrottle: reportThrottle.execute,
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'waitForCapacity',
		options: [
			{
				name: 'Wait for Capacity',
				value: 'waitForCapacity',
				action: 'Wait until the rate limit allows the items',
				description:
					'The service holds the execution until tokens for the items are granted, or Max Wait runs out',
			},
			{
				name: 'Split',
				value: 'split',
				action: 'Split items into allowed and limited',
				description:
					'Items with tokens available now go to Allowed, the rest to Limited with retryAfterMs; never waits',
			},
			{
				name: 'Report Throttle',
				value: 'reportThrottle',
				action: 'Report a throttle from downstream',
				description:
					'A 429 or Retry-After seen downstream pauses the key for every caller (and slows adaptive keys)',
			},
		],
	},
	...limiterProperties,
	...reportThrottle.description,
];
