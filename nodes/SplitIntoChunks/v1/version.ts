import type { VersionSpec } from '../../shared/node-builder';
import * as submitBatch from './actions/batch/submitBatch.operation';

// Loop and Ranges (later issues) slot in as actions/<resource>/*.operation.ts.
export const v1: VersionSpec = {
	defaultName: 'Split Into Chunks',
	defaultOperation: 'submitBatch',
	operations: { submitBatch },
};
