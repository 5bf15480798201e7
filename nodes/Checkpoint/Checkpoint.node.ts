import { VersionedNodeType } from 'n8n-workflow';

import { versionedNode } from '../shared/node-builder';
import { v1 } from './v1/version';

export class Checkpoint extends VersionedNodeType {
	constructor() {
		const base = {
			displayName: 'Checkpoint',
			name: 'checkpoint',
			description:
				'Claim batch items before work and record their results after it: resumable, idempotent runs',
			docsAnchor: 'checkpoint',
		};
		super(...versionedNode(base, { 1: v1 }));
	}
}
