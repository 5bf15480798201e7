import type { VersionSpec } from '../../shared/node-builder';
import * as claim from './actions/item/claim.operation';
import * as recordResults from './actions/item/recordResults.operation';
import { itemFieldProperties } from './helpers/item-fields';

const operations = { claim, recordResults };

/** Claim has two outputs (Claimed, Skipped); Record Results one. */
const outputs: `={{${string}}}` =
	'={{ $parameter.operation === "recordResults" ? ["main"] : [{ "type": "main", "displayName": "Claimed" }, { "type": "main", "displayName": "Skipped" }] }}';

// Save Cursor and Load Cursor (a later issue) slot in as actions/cursor/*.operation.ts.
export const v1: VersionSpec = {
	defaultName: 'Checkpoint',
	defaultOperation: 'claim',
	operations,
	properties: itemFieldProperties(Object.keys(operations)),
	outputs,
};
