import type { INodeTypeBaseDescription, IVersionedNodeType } from 'n8n-workflow';
import { VersionedNodeType } from 'n8n-workflow';

import { SplitIntoChunksV1 } from './v1/SplitIntoChunksV1.node';

export class SplitIntoChunks extends VersionedNodeType {
	constructor() {
		const baseDescription: INodeTypeBaseDescription = {
			displayName: 'Split Into Chunks',
			name: 'splitIntoChunks',
			icon: { light: 'file:splitIntoChunks.svg', dark: 'file:splitIntoChunks.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["operation"]}}',
			description:
				'Turn many items into a durable Batch Guardian batch, processed in chunks by a worker workflow',
			defaultVersion: 1,
		};
		const nodeVersions: IVersionedNodeType['nodeVersions'] = {
			1: new SplitIntoChunksV1(baseDescription),
		};
		super(nodeVersions, baseDescription);
	}
}
