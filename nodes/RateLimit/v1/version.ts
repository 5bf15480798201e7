import { NodeConnectionTypes } from 'n8n-workflow';

import type { VersionSpec } from '../../shared/node-builder';
import * as reportThrottle from './actions/limiter/reportThrottle.operation';
import * as split from './actions/limiter/split.operation';
import * as waitForCapacity from './actions/limiter/waitForCapacity.operation';
import { limiterProperties } from './helpers/limiter-properties';

const main = NodeConnectionTypes.Main;
// Split has a second output for the items that did not get tokens; the others have one.
const outputs: `={{${string}}}` = `={{ $parameter.operation === "split" ? [{ "type": "${main}", "displayName": "Allowed" }, { "type": "${main}", "displayName": "Limited" }] : ["${main}"] }}`;

export const v1: VersionSpec = {
	defaultName: 'Rate Limit',
	defaultOperation: 'waitForCapacity',
	operations: { waitForCapacity, split, reportThrottle },
	properties: limiterProperties,
	outputs,
};
