/**
 * The shipped direct-delivery campaign template (`workflows/email-campaign-direct.json`) installed
 * into a running n8n the way a user would: its own credentials, a unique webhook path, published.
 * The service it talks to sends the e-mails itself through its transport `local`.
 */
import { randomBytes, randomUUID } from 'node:crypto';

import type { N8nApi } from '../../scripts/lib/n8n/api';
import { publishWorkflow } from '../../scripts/lib/workflows';
import { loadTemplate, type ServiceRef, type TemplateNode } from './email-campaign';

export interface DirectTemplate {
	workflowId: string;
	path: string;
	/** The credentials made for it, by type (batchGuardianApi, smtp). */
	credentials: Record<string, { id: string; name: string }>;
}

export async function installDirectTemplate(
	n8n: N8nApi,
	options: {
		service: Pick<ServiceRef, 'url' | 'apiKey'>;
		/** Where the Summary E-mail goes (n8n's own SMTP credential). */
		smtp: { host: string; port: number };
		patch?: (node: TemplateNode) => void;
	},
): Promise<DirectTemplate> {
	const suffix = randomBytes(4).toString('hex');
	const credentials: Record<string, { id: string; name: string }> = {};
	const add = async (type: string, data: object) => {
		const name = `${type} direct ${suffix}`;
		credentials[type] = { id: await n8n.createCredential({ name, type, data }), name };
	};
	await add('batchGuardianApi', { baseUrl: options.service.url, apiKey: options.service.apiKey });
	await add('smtp', {
		user: '',
		password: '',
		host: options.smtp.host,
		port: options.smtp.port,
		secure: false,
		disableStartTls: true,
	});
	const json = loadTemplate('email-campaign-direct.json');
	const path = `email-campaign-direct-${suffix}`;
	json.name = `${json.name} ${suffix}`;
	for (const node of json.nodes as TemplateNode[]) {
		node.id = randomUUID();
		if (node.webhookId) node.webhookId = randomUUID();
		if (node.type === 'n8n-nodes-base.webhook') node.parameters.path = path;
		for (const type of Object.keys(node.credentials ?? {}))
			node.credentials![type] = { ...credentials[type] };
		options.patch?.(node);
	}
	const workflowId = await n8n.createWorkflow(json);
	await publishWorkflow(n8n, workflowId);
	return { workflowId, path, credentials };
}
