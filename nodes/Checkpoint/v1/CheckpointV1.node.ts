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

/** Claim has two outputs (Claimed, Skipped); Record Results one. */
const OUTPUTS: `={{${string}}}` =
	'={{ $parameter.operation === "recordResults" ? ["main"] : [{ "type": "main", "displayName": "Claimed" }, { "type": "main", "displayName": "Skipped" }] }}';

// The icon comes with the base description; n8n resolves it next to Checkpoint.node.ts.
// eslint-disable-next-line @n8n/community-nodes/icon-validation
export class CheckpointV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(baseDescription: INodeTypeBaseDescription) {
		this.description = {
			...baseDescription,
			version: 1,
			defaults: { name: 'Checkpoint' },
			inputs: [NodeConnectionTypes.Main],
			outputs: OUTPUTS,
			usableAsTool: true,
			credentials: [{ name: CREDENTIAL_TYPE, required: true }],
			properties,
		};
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runOperation.call(this, operations);
	}
}
