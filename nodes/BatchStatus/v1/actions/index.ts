import type { INodeProperties } from 'n8n-workflow';

import type { ItemHandler } from '../../../shared/run-items';
import * as cancel from './cancel';
import * as finalReport from './finalReport';
import * as get from './get';
import * as list from './list';
import * as pause from './pause';
import * as resume from './resume';
import * as retryDeadLetters from './retryDeadLetters';
import * as waitForCompletion from './waitForCompletion';

export const handlers: Record<string, ItemHandler> = {
	get: get.execute,
	list: list.execute,
	waitForCompletion: waitForCompletion.execute,
	pause: pause.execute,
	resume: resume.execute,
	cancel: cancel.execute,
	retryDeadLetters: retryDeadLetters.execute,
	finalReport: finalReport.execute,
};

/** Every operation but List addresses one batch. */
const ONE_BATCH = Object.keys(handlers).filter((operation) => operation !== 'list');

export const properties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		default: 'get',
		options: [
			{
				name: 'Cancel',
				value: 'cancel',
				action: 'Cancel a batch',
				description: 'Drop queued chunks; chunks in flight finish',
			},
			{
				name: 'Final Report',
				value: 'finalReport',
				action: 'Get the final report of a batch',
				description: 'Summary, error categories with samples, and remediation advice',
			},
			{
				name: 'Get',
				value: 'get',
				action: 'Get the progress of a batch',
				description: 'Counts, percent, items per second, ETA and state of one batch',
			},
			{
				name: 'List',
				value: 'list',
				action: 'List batches',
				description: 'Batches newest first, optionally in one state',
			},
			{
				name: 'Pause',
				value: 'pause',
				action: 'Pause a batch',
				description: 'Stop dispatching new chunks until resumed',
			},
			{
				name: 'Resume',
				value: 'resume',
				action: 'Resume a batch',
				description: 'Continue dispatching a paused batch',
			},
			{
				name: 'Retry Dead Letters',
				value: 'retryDeadLetters',
				action: 'Retry the dead letters of a batch',
				description: 'Put dead-lettered items (all, or one error class) back to pending',
			},
			{
				name: 'Wait for Completion',
				value: 'waitForCompletion',
				action: 'Wait for a batch to finish',
				description:
					'The service holds the request until the batch finishes, bounded by a max wait',
			},
		],
	},
	get.batchIdProperty(ONE_BATCH),
	...get.description,
	...list.description,
	...waitForCompletion.description,
	...pause.description,
	...resume.description,
	...cancel.description,
	...retryDeadLetters.description,
	...finalReport.description,
];
