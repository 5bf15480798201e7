import type { INodeProperties } from 'n8n-workflow';

import { limitProperty } from '../../../shared/limits';

const costOperations = ['waitForCapacity', 'split'];

/** Parameters every operation shares: which limiter and how it behaves (last writer wins). */
export const limiterProperties: INodeProperties[] = [
	{
		displayName: 'Limiter Key',
		name: 'limiterKey',
		type: 'string',
		required: true,
		default: '',
		placeholder: 'smtp-relay',
		description:
			'Name of the budget. Every node, execution, worker and service replica using the same key shares one rate limit.',
	},
	{
		displayName: 'Capacity',
		name: 'capacity',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 10,
		description: 'Burst: the most tokens that can be taken at once after a quiet period',
	},
	{
		displayName: 'Refill Amount',
		name: 'refillAmount',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 600,
		description: 'Tokens added per Refill Unit: the sustained rate',
	},
	{
		displayName: 'Refill Unit',
		name: 'refillUnit',
		type: 'options',
		default: 'minute',
		options: [
			{ name: 'Second', value: 'second' },
			{ name: 'Minute', value: 'minute' },
			{ name: 'Hour', value: 'hour' },
		],
	},
	{
		displayName: 'Cost per Item',
		name: 'costPerItem',
		type: 'number',
		typeOptions: { minValue: 1, numberPrecision: 0 },
		default: 1,
		description:
			'Tokens each item takes, e.g. the number of recipients of an e-mail; may be an expression',
		displayOptions: { show: { operation: costOperations } },
	},
	limitProperty(
		'maxWaitMs',
		'Longest the service may hold this execution waiting for tokens; items that would wait longer fail with retryAfterMs',
		{ displayOptions: { show: { operation: ['waitForCapacity'] } } },
	),
	{
		displayName: 'Adaptive',
		name: 'adaptive',
		type: 'boolean',
		default: false,
		description:
			'Whether reported throttles also halve the rate (never below a tenth), which then recovers step by step',
	},
];
