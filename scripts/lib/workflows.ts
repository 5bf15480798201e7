import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { webhookNodes, type N8nApi, type WorkflowJson } from './n8n/api';
import type { Log } from './process';

export interface ImportedWorkflow {
	file: string;
	name: string;
	id?: string;
	active: boolean;
	error?: string;
	webhooks: Array<{ method: string; url: string }>;
}

type CredentialRef = { id: string; name: string };

/**
 * Templates reference the Batch Guardian credential by whatever id their author's n8n gave it;
 * point every such reference at this instance's credential so they run as imported.
 */
function relinkCredentials(workflow: WorkflowJson, type: string, credential: CredentialRef) {
	for (const node of workflow.nodes as Array<{ credentials?: Record<string, CredentialRef> }>) {
		if (node.credentials?.[type]) node.credentials[type] = { ...credential };
	}
}

function readWorkflow(file: string): WorkflowJson | string {
	try {
		const json = JSON.parse(readFileSync(file, 'utf8')) as Partial<WorkflowJson>;
		if (typeof json.name !== 'string' || !Array.isArray(json.nodes) || !json.connections) {
			return 'not an n8n workflow export (needs name, nodes, connections)';
		}
		return json as WorkflowJson;
	} catch (error) {
		return `invalid JSON: ${(error as Error).message}`;
	}
}

/**
 * Imports every workflows/*.json by name (updating a same-named workflow in place, so its id and
 * execution history survive) and activates it. One bad template is reported, not fatal.
 */
export async function importWorkflows(
	n8n: N8nApi,
	dir: string,
	credential: { type: string; ref: CredentialRef },
	log: Log,
): Promise<ImportedWorkflow[]> {
	if (!existsSync(dir)) return [];
	const files = readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.sort();
	if (files.length === 0) return [];
	const existing = await n8n.listWorkflows();
	const results: ImportedWorkflow[] = [];
	for (const file of files) {
		const workflow = readWorkflow(join(dir, file));
		if (typeof workflow === 'string') {
			log(`skipping workflows/${file}: ${workflow}`);
			results.push({ file, name: file, active: false, error: workflow, webhooks: [] });
			continue;
		}
		relinkCredentials(workflow, credential.type, credential.ref);
		const result: ImportedWorkflow = {
			file,
			name: workflow.name,
			active: false,
			webhooks: webhookNodes(workflow).map(({ method, path }) => ({
				method,
				url: n8n.webhookUrl(path),
			})),
		};
		results.push(result);
		try {
			const same = existing.find((candidate) => candidate.name === workflow.name);
			if (same) {
				await n8n.updateWorkflow(same.id, workflow);
				result.id = same.id;
			} else {
				result.id = await n8n.createWorkflow(workflow);
			}
			await n8n.activate(result.id);
			result.active = true;
		} catch (error) {
			// Typically a node that needs a credential the user has not created yet (e.g. SMTP).
			result.error = (error as Error).message;
			log(`workflows/${file} imported but not activated: ${result.error}`);
		}
	}
	return results;
}
