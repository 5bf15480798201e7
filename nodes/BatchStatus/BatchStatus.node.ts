import { VersionedNodeType } from 'n8n-workflow';

import { versionedNode } from '../shared/node-builder';
import { v1 } from './v1/version';

export class BatchStatus extends VersionedNodeType {
	constructor() {
		const base = {
			displayName: 'Batch Status',
			name: 'batchStatus',
			description:
				'Watch and steer Batch Guardian batches: progress, pause, resume, cancel, dead letters, final report',
			docsAnchor: 'batch-status',
		};
		super(...versionedNode(base, { 1: v1 }));
	}
}
