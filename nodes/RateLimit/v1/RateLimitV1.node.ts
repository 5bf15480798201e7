import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeBaseDescription,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { runOperation } from '../../shared/run-items';
import { CREDENTIAL_TYPE } from '../../shared/transport';
import { operations, properties } from './actions';

const main = NodeConnectionTypes.Main;
// Split has a second output for the items that did not get tokens; the others have one.
const outputs: `={{${string}}}` = `={{ $parameter.operation === "split" ? [{ "type": "${main}", "displayName": "Allowed" }, { "type": "${main}", "displayName": "Limited" }] : ["${main}"] }}`;

// The icon comes with the base description; n8n resolves it next to RateLimit.node.ts.
// eslint-disable-next-line @n8n/community-nodes/icon-validation
export class RateLimitV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(baseDescription: INodeTypeBaseDescription) {
		this.description = {
			...baseDescription,
			version: 1,
			defaults: { name: 'Rate Limit' },
			inputs: [NodeConnectionTypes.Main],
			outputs,
			usableAsTool: true,
			credentials: [{ name: CREDENTIAL_TYPE, required: true }],
			properties,
		};
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runOperation.call(this, operations);
	}
}
