import type { INodeTypeBaseDescription, IVersionedNodeType } from 'n8n-workflow';
import { VersionedNodeType } from 'n8n-workflow';

import { CheckpointV1 } from './v1/CheckpointV1.node';

export class Checkpoint extends VersionedNodeType {
	constructor() {
		const baseDescription: INodeTypeBaseDescription = {
			displayName: 'Checkpoint',
			name: 'checkpoint',
			icon: { light: 'file:checkpoint.svg', dark: 'file:checkpoint.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["operation"]}}',
			description:
				'Claim the items of a Batch Guardian chunk before work and record their results after it',
			defaultVersion: 1,
		};
		const nodeVersions: IVersionedNodeType['nodeVersions'] = {
			1: new CheckpointV1(baseDescription),
		};
		super(nodeVersions, baseDescription);
	}
}
