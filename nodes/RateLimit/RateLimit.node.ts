import type { INodeTypeBaseDescription, IVersionedNodeType } from 'n8n-workflow';
import { VersionedNodeType } from 'n8n-workflow';

import { RateLimitV1 } from './v1/RateLimitV1.node';

export class RateLimit extends VersionedNodeType {
	constructor() {
		const baseDescription: INodeTypeBaseDescription = {
			displayName: 'Rate Limit',
			name: 'rateLimit',
			icon: { light: 'file:rateLimit.svg', dark: 'file:rateLimit.dark.svg' },
			group: ['transform'],
			subtitle: '={{$parameter["operation"]}}',
			description:
				'One rate limit shared by every execution, worker and replica: wait for capacity, split off limited items, report throttles',
			defaultVersion: 1,
		};
		const nodeVersions: IVersionedNodeType['nodeVersions'] = {
			1: new RateLimitV1(baseDescription),
		};
		super(nodeVersions, baseDescription);
	}
}
