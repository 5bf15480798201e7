import type { VersionSpec } from '../../shared/node-builder';
import * as claim from './actions/item/claim.operation';
import * as loadCursor from './actions/cursor/loadCursor.operation';
import * as saveCursor from './actions/cursor/saveCursor.operation';
import * as recordResults from './actions/item/recordResults.operation';
import { cursorFieldProperties } from './helpers/cursor-fields';
import { itemFieldProperties } from './helpers/item-fields';

const operations = { claim, recordResults, loadCursor, saveCursor };

/** Claim has two outputs (Claimed, Skipped); every other operation one. */
const outputs: `={{${string}}}` =
	'={{ $parameter.operation === "claim" || $parameter.operation === undefined ? [{ "type": "main", "displayName": "Claimed" }, { "type": "main", "displayName": "Skipped" }] : ["main"] }}';

export const v1: VersionSpec = {
	defaultName: 'Checkpoint',
	defaultOperation: 'claim',
	operations,
	properties: [
		...itemFieldProperties(['claim', 'recordResults']),
		...cursorFieldProperties(['loadCursor', 'saveCursor']),
	],
	outputs,
};
