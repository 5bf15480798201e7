import type { INodeProperties } from 'n8n-workflow';

import type { InputOperation } from '../../../shared/run-items';
import * as claim from './claim';
import * as recordResults from './recordResults';

// Save Cursor and Load Cursor (a later issue) slot in here and in the options below.
export const operations: Record<string, InputOperation> = {
	claim: claim.execute,
	recordResults: recordResults.execute,
};

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'claim',
		options: [
			{
				name: 'Claim',
				value: 'claim',
				action: 'Claim the items of a batch before processing them',
				description:
					'Pass on only items not finished and not leased by a live attempt; the rest go to Skipped with the reason',
			},
			{
				name: 'Record Results',
				value: 'recordResults',
				action: 'Record items as succeeded or failed',
				description:
					'Failed items are retried with backoff or dead-lettered; errors come from the error output or Continue On Fail',
			},
		],
	},
	...claim.description,
	...recordResults.description,
];
