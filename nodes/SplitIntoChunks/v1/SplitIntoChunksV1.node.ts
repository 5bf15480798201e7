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

// The icon comes with the base description; n8n resolves it next to SplitIntoChunks.node.ts.
// eslint-disable-next-line @n8n/community-nodes/icon-validation
export class SplitIntoChunksV1 implements INodeType {
	description: INodeTypeDescription;

	constructor(baseDescription: INodeTypeBaseDescription) {
		this.description = {
			...baseDescription,
			version: 1,
			defaults: { name: 'Split Into Chunks' },
			inputs: [NodeConnectionTypes.Main],
			outputs: [NodeConnectionTypes.Main],
			usableAsTool: true,
			credentials: [{ name: CREDENTIAL_TYPE, required: true }],
			properties,
		};
	}

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		return await runOperation.call(this, operations);
	}
}
