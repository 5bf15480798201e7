import type { VersionSpec } from '../../shared/node-builder';
import { batchIdProperty } from './actions/batch/batch-request';
import * as cancel from './actions/batch/cancel.operation';
import * as finalReport from './actions/batch/finalReport.operation';
import * as get from './actions/batch/get.operation';
import * as list from './actions/batch/list.operation';
import * as pause from './actions/batch/pause.operation';
import * as resume from './actions/batch/resume.operation';
import * as retryDeadLetters from './actions/batch/retryDeadLetters.operation';
import * as waitForCompletion from './actions/batch/waitForCompletion.operation';

const operations = {
	cancel,
	finalReport,
	get,
	list,
	pause,
	resume,
	retryDeadLetters,
	waitForCompletion,
};

export const v1: VersionSpec = {
	defaultName: 'Batch Status',
	defaultOperation: 'get',
	operations,
	properties: [batchIdProperty(Object.keys(operations).filter((name) => name !== 'list'))],
};
