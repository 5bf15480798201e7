/**
 * The workflow templates `npm start` keeps in n8n. A template is imported when n8n lacks it, and
 * updated in place when the shipped template's version is newer and the copy in n8n is unchanged
 * since it was imported. A copy the user edited is never overwritten, and a workflow the user
 * unpublished is not published again. What was imported (workflow id, template version, hash of
 * the nodes and connections as n8n stored them) is recorded in `<dataDir>/workflows.json`.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

import { webhookNodes, type N8nApi, type WorkflowJson } from './n8n/api';
import { sleep, type Log } from './process';

export type ImportOutcome = 'imported' | 'updated' | 'unchanged' | 'kept' | 'failed';

export interface ImportedWorkflow {
	file: string;
	name: string;
	id?: string;
	active: boolean;
	outcome: ImportOutcome;
	/** Why a template was not applied, or why publishing failed. */
	note?: string;
	error?: string;
	webhooks: Array<{ method: string; url: string }>;
}

/** One template as last imported, keyed by file name in the record. */
interface ImportRecord {
	workflowId: string;
	templateVersion: number;
	/** Hash of the nodes and connections n8n stored right after the import. */
	hash: string;
	/** False when publishing failed (e.g. a credential was missing): the next start tries again. */
	published: boolean;
	importedAt: string;
}

type Record_ = { templates: Record<string, ImportRecord> };

type CredentialRef = { id: string; name: string };
type TemplateNode = { credentials?: Record<string, CredentialRef> };
type StoredWorkflow = WorkflowJson & { id: string; active: boolean; isArchived?: boolean };

export const RECORD_FILE = 'workflows.json';

/** The template's own version: `meta.templateVersion`, 1 when absent. */
export function templateVersion(workflow: WorkflowJson): number {
	const version = (workflow.meta as { templateVersion?: unknown } | undefined)?.templateVersion;
	return typeof version === 'number' && Number.isInteger(version) && version > 0 ? version : 1;
}

/**
 * What identifies a workflow's content: its nodes (by name, keys sorted) and connections. Ids,
 * names, settings and publishing state are left out: n8n rewrites those on its own.
 */
export function workflowHash(workflow: Pick<WorkflowJson, 'nodes' | 'connections'>): string {
	const canonical = (value: unknown): unknown => {
		if (Array.isArray(value)) return value.map(canonical);
		if (value === null || typeof value !== 'object') return value;
		return Object.fromEntries(
			Object.keys(value)
				.sort()
				.map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
		);
	};
	const nodes = [...(workflow.nodes as Array<{ name: string }>)].sort((a, b) =>
		a.name.localeCompare(b.name),
	);
	const text = JSON.stringify(canonical({ nodes, connections: workflow.connections ?? {} }));
	return createHash('sha256').update(text).digest('hex');
}

/**
 * Templates name their credentials; point each at this instance's credential of that type and
 * name (ids differ from one n8n to the next). Names n8n does not have are left as they are.
 */
export function relinkCredentials(
	workflow: WorkflowJson,
	credentials: Array<{ id: string; name: string; type: string }>,
): void {
	for (const node of workflow.nodes as TemplateNode[]) {
		for (const [type, ref] of Object.entries(node.credentials ?? {})) {
			const found = credentials.find((c) => c.type === type && c.name === ref.name);
			if (found) node.credentials![type] = { id: found.id, name: found.name };
		}
	}
}

export function readTemplate(file: string): WorkflowJson | string {
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

function loadRecord(file: string): Record_ {
	if (!existsSync(file)) return { templates: {} };
	try {
		const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record_>;
		return { templates: parsed.templates ?? {} };
	} catch {
		// A damaged record forgets what was imported: nothing is then updated, only re-imported if missing.
		return { templates: {} };
	}
}

function saveRecord(file: string, record: Record_): void {
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
}

/** Imports, updates or keeps every workflows/*.json as the policy above says; one bad one is reported, not fatal. */
export async function importWorkflows(
	n8n: N8nApi,
	dir: string,
	dataDir: string,
	log: Log,
): Promise<ImportedWorkflow[]> {
	if (!existsSync(dir)) return [];
	const files = readdirSync(dir)
		.filter((file) => file.endsWith('.json'))
		.sort();
	if (files.length === 0) return [];
	const recordFile = join(dataDir, RECORD_FILE);
	const record = loadRecord(recordFile);
	// An archived workflow (n8n 2.x's delete from the editor) counts as missing.
	const existing = ((await n8n.listWorkflows()) as StoredWorkflow[]).filter((w) => !w.isArchived);
	const credentials = await n8n.listCredentials();
	const results: ImportedWorkflow[] = [];
	for (const file of files) {
		const template = readTemplate(join(dir, file));
		if (typeof template === 'string') {
			log(`skipping workflows/${file}: ${template}`);
			results.push({
				file,
				name: file,
				active: false,
				outcome: 'failed',
				error: template,
				webhooks: [],
			});
			continue;
		}
		relinkCredentials(template, credentials);
		const result = await applyTemplate(n8n, file, template, record.templates[file], existing);
		if (result.record) record.templates[file] = result.record;
		if (result.workflow.note) log(`workflows/${file}: ${result.workflow.note}`);
		if (result.workflow.error) log(`workflows/${file}: ${result.workflow.error}`);
		results.push(result.workflow);
		saveRecord(recordFile, record);
	}
	return results;
}

async function applyTemplate(
	n8n: N8nApi,
	file: string,
	template: WorkflowJson,
	previous: ImportRecord | undefined,
	existing: StoredWorkflow[],
): Promise<{ workflow: ImportedWorkflow; record?: ImportRecord }> {
	const version = templateVersion(template);
	const current = previous && existing.find((w) => w.id === previous.workflowId);
	const result = (
		stored: WorkflowJson,
		outcome: ImportOutcome,
		extra: Partial<ImportedWorkflow>,
	) => ({
		file,
		name: stored.name,
		active: false,
		outcome,
		webhooks: webhookNodes(stored).map(({ method, path }) => ({
			method,
			url: n8n.webhookUrl(path),
		})),
		...extra,
	});

	if (!current) {
		const sameName = existing.find((w) => w.name === template.name);
		if (!previous && sameName) {
			// Imported by hand or by an older npm start: it may hold the user's changes.
			const note = `kept the workflow '${sameName.name}' already in n8n (not imported by npm start); delete or rename it to get the template`;
			return {
				workflow: result(sameName, 'kept', { id: sameName.id, active: sameName.active, note }),
			};
		}
		try {
			const id = await n8n.createWorkflow(template);
			return await publish(n8n, id, version, result(template, 'imported', { id }));
		} catch (error) {
			return { workflow: result(template, 'failed', { error: (error as Error).message }) };
		}
	}

	const edited = workflowHash(current) !== previous.hash;
	if (edited) {
		const note =
			version > previous.templateVersion
				? `you changed '${current.name}' in n8n, so template version ${version} was not imported (import workflows/${file} by hand to get it)`
				: undefined;
		return {
			workflow: result(current, 'kept', { id: current.id, active: current.active, note }),
			record: previous,
		};
	}
	if (version > previous.templateVersion) {
		try {
			await n8n.updateWorkflow(current.id, template);
			return await publish(
				n8n,
				current.id,
				version,
				result(template, 'updated', { id: current.id }),
			);
		} catch (error) {
			const failed = result(current, 'failed', { id: current.id, active: current.active });
			return { workflow: { ...failed, error: (error as Error).message }, record: previous };
		}
	}
	if (!previous.published && !current.active) {
		// Publishing failed last time (a credential missing then): try again, nothing else changes.
		return await publish(
			n8n,
			current.id,
			version,
			result(current, 'unchanged', { id: current.id }),
		);
	}
	return {
		workflow: result(current, 'unchanged', { id: current.id, active: current.active }),
		record: previous,
	};
}

/** Publishes (activates) a workflow just written and records what n8n stored. */
async function publish(
	n8n: N8nApi,
	id: string,
	version: number,
	workflow: ImportedWorkflow,
): Promise<{ workflow: ImportedWorkflow; record: ImportRecord }> {
	let published = true;
	try {
		await publishWorkflow(n8n, id);
		workflow.active = true;
	} catch (error) {
		// Typically a node that needs a credential the user has not created yet.
		published = false;
		workflow.error = `imported but not published: ${(error as Error).message}`;
	}
	const stored = await n8n.api<WorkflowJson>('GET', `/workflows/${id}`);
	const record = {
		workflowId: id,
		templateVersion: version,
		hash: workflowHash(stored),
		published,
		importedAt: new Date().toISOString(),
	};
	return { workflow, record };
}

/**
 * Publishes (activates) a workflow and waits until each of its production webhooks is registered,
 * probed with a CORS preflight for the webhook's own method (a GET webhook refuses a POST probe).
 * n8n answers the activation ~0.3 s before the webhooks are in place.
 */
export async function publishWorkflow(n8n: N8nApi, id: string, timeoutMs = 15_000): Promise<void> {
	await n8n.api('POST', `/workflows/${id}/activate`, {});
	const workflow = await n8n.api<WorkflowJson>('GET', `/workflows/${id}`);
	const deadline = Date.now() + timeoutMs;
	for (const { path, method } of webhookNodes(workflow)) {
		if (path.includes(':')) continue;
		for (;;) {
			const response = await fetch(n8n.webhookUrl(path), {
				method: 'OPTIONS',
				headers: { origin: n8n.baseUrl, 'access-control-request-method': method },
			});
			await response.arrayBuffer();
			if (response.status === 204) break;
			if (Date.now() > deadline) {
				throw new Error(
					`webhook ${method} '${path}' of workflow ${id} not registered after ${timeoutMs} ms`,
				);
			}
			await sleep(100);
		}
	}
}
