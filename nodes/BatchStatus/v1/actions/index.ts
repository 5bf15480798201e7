import type { INodeProperties } from 'n8n-workflow';

import type { ItemHandler } from '../../../shared/run-items';
import * as get from './get';

export const handlers: Record<string, ItemHandler> = {
	get: get.execute,
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'get',
		options: [
			{
				name: 'Get',
				value: 'get',
				action: 'Get the progress of a batch',
				description: 'Counts, percent, items per second, ETA and state of one batch',
			},
		],
	},
	get.batchIdProperty(['get']),
	...get.description,
];
