import type { Icon, ICredentialTestRequest, ICredentialType, INodeProperties } from 'n8n-workflow';

export class BatchGuardianApi implements ICredentialType {
	name = 'batchGuardianApi';

	displayName = 'Batch Guardian API';

	icon: Icon = { light: 'file:batchGuardian.svg', dark: 'file:batchGuardian.dark.svg' };

	documentationUrl = 'https://github.com/batch-guardian/n8n-nodes-batch-guardian#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Service URL',
			name: 'baseUrl',
			type: 'string',
			default: 'http://localhost:3030',
			placeholder: 'http://localhost:3030',
			description: 'Base URL of the Batch Guardian companion service, without a trailing path',
			required: true,
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The API_KEY the companion service was started with',
			required: true,
		},
	];

	// No `authenticate` block on purpose: n8n adds a "Custom API Call" entry to the Operation list
	// of every node whose credential has one (injectCustomApiCallOptions in n8n's CLI), and our
	// nodes have no such call. The nodes send the key header themselves (nodes/shared/transport.ts).

	// /ready needs the key and answers only when Redis is reachable, so one test checks both.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{$credentials.baseUrl.replace(/\\/+$/, "")}}',
			url: '/ready',
			headers: { 'x-api-key': '={{$credentials.apiKey}}' },
		},
	};
}
