import { VersionedNodeType } from 'n8n-workflow';

import { versionedNode } from '../shared/node-builder';
import { listTransports } from './v1/methods/transports';
import { v1 } from './v1/version';

export class SplitIntoChunks extends VersionedNodeType {
	constructor() {
		const base = {
			displayName: 'Split Into Chunks',
			name: 'splitIntoChunks',
			description:
				'Turn many items into a durable batch: worked in chunks by a worker workflow, or by Checkpoint in this one',
			docsAnchor: 'split-into-chunks',
		};
		const [versions, description] = versionedNode(base, { 1: v1 });
		// Direct SMTP delivery lists the transports the service has.
		versions[1].methods = { loadOptions: { listTransports } };
		super(versions, description);
	}
}
