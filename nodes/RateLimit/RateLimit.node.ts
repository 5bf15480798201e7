import { VersionedNodeType } from 'n8n-workflow';

import { versionedNode } from '../shared/node-builder';
import { v1 } from './v1/version';

export class RateLimit extends VersionedNodeType {
	constructor() {
		const base = {
			displayName: 'Rate Limit',
			name: 'rateLimit',
			description:
				'One rate limit shared by every execution, worker and replica: wait for capacity, split off limited items, report throttles',
			docsAnchor: 'rate-limit',
		};
		super(...versionedNode(base, { 1: v1 }));
	}
}
