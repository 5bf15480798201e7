import type { VersionSpec } from '../../shared/node-builder';
import * as loop from './actions/batch/loop.operation';
import * as ranges from './actions/batch/ranges.operation';
import * as submitBatch from './actions/batch/submitBatch.operation';

/** Loop, and Ranges as a Loop, have two outputs like Loop Over Items: Chunk and Done. */
const outputs: `={{${string}}}` =
	'={{ $parameter.operation === "loop" || ($parameter.operation === "ranges" && ($parameter.paging === "untilShort" || $parameter.rangesOutput === "loop")) ? [{ "type": "main", "displayName": "Chunk" }, { "type": "main", "displayName": "Done" }] : ["main"] }}';

export const v1: VersionSpec = {
	defaultName: 'Split Into Chunks',
	defaultOperation: 'submitBatch',
	operations: { submitBatch, loop, ranges },
	outputs,
};
