/** Shapes of n8n workflow JSON and what the harness derives from it. */
export interface WorkflowJson {
	name: string;
	nodes: unknown[];
	connections: Record<string, unknown>;
	settings?: Record<string, unknown>;
	[key: string]: unknown;
}

/** Fields the public API accepts on create/update; exports carry more and get a 400 otherwise. */
const WORKFLOW_FIELDS = ['name', 'nodes', 'connections', 'settings', 'staticData'] as const;
const SETTINGS_FIELDS = [
	'saveExecutionProgress',
	'saveManualExecutions',
	'saveDataErrorExecution',
	'saveDataSuccessExecution',
	'executionTimeout',
	'errorWorkflow',
	'timezone',
	'executionOrder',
	'binaryMode',
	'callerPolicy',
];

export function publicWorkflowBody(json: WorkflowJson): Record<string, unknown> {
	const body: Record<string, unknown> = {};
	for (const field of WORKFLOW_FIELDS) if (json[field] !== undefined) body[field] = json[field];
	const settings = (json.settings ?? {}) as Record<string, unknown>;
	body.settings = Object.fromEntries(
		Object.entries(settings).filter(([key]) => SETTINGS_FIELDS.includes(key)),
	);
	return body;
}

/** Static production webhook paths of a workflow (dynamic `:param` paths cannot be probed). */
export function webhookPaths(workflow: WorkflowJson): string[] {
	return webhookNodes(workflow)
		.map((node) => node.path)
		.filter((path) => !path.includes(':'));
}

export function webhookNodes(
	workflow: WorkflowJson,
): Array<{ name: string; path: string; method: string }> {
	const nodes = workflow.nodes as Array<{
		name: string;
		type: string;
		disabled?: boolean;
		parameters?: { path?: string; httpMethod?: string };
	}>;
	return nodes
		.filter((node) => node.type === 'n8n-nodes-base.webhook' && !node.disabled)
		.filter((node) => typeof node.parameters?.path === 'string' && node.parameters.path !== '')
		.map((node) => ({
			name: node.name,
			path: String(node.parameters?.path).replace(/^\/+/, ''),
			method: node.parameters?.httpMethod ?? 'GET',
		}));
}
