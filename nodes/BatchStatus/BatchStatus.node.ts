import type { INodeTypeBaseDescription, IVersionedNodeType } from 'n8n-workflow';
import { VersionedNodeType } from 'n8n-workflow';

import { BatchStatusV1 } from './v1/BatchStatusV1.node';

export class BatchStatus extends VersionedNodeType {
	constructor() {
		const baseDescription: INodeTypeBaseDescription = {
			displayName: 'Batch Status',
			name: 'batchStatus',
			icon: { light: 'file:batchStatus.svg', dark: 'file:batchStatus.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["operation"]}}',
			description:
				'Watch and steer Batch Guardian batches: progress, pause, resume, cancel, dead letters, final report',
			defaultVersion: 1,
		};
		const nodeVersions: IVersionedNodeType['nodeVersions'] = {
			1: new BatchStatusV1(baseDescription),
		};
		super(nodeVersions, baseDescription);
	}
}
