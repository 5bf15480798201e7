import type { INodeProperties } from 'n8n-workflow';

import type { InputOperation } from '../../../shared/run-items';
import * as submitBatch from './submitBatch';

// Loop and Ranges (later issues) slot in here and in the options below.
export const operations: Record<string, InputOperation> = {
	submitBatch: submitBatch.execute,
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'submitBatch',
		options: [
			{
				name: 'Submit Batch',
				value: 'submitBatch',
				action: 'Submit the input items as a durable batch',
				description:
					'The service stores the items and sends them in chunks to a worker workflow, with retries and progress',
			},
		],
	},
	...submitBatch.description,
];
