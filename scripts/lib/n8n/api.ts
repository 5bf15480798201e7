import { randomUUID } from 'node:crypto';

import { sleep } from '../process';
import { publicWorkflowBody, webhookPaths, type WorkflowJson } from './workflow';

export type { WorkflowJson };
export { webhookNodes } from './workflow';

export interface Owner {
	email: string;
	password: string;
}

export interface Execution {
	id: string;
	workflowId: string;
	status: string;
	finished: boolean;
	mode: string;
	startedAt: string;
	stoppedAt: string | null;
	data?: {
		resultData: {
			error?: { message: string; description?: string };
			lastNodeExecuted?: string;
			runData: Record<string, Array<Record<string, unknown>>>;
			metadata?: Record<string, unknown>;
		};
	};
}

export interface HttpAnswer<T = unknown> {
	status: number;
	body: T;
	headers: Headers;
}

async function parse(response: Response): Promise<unknown> {
	const text = await response.text();
	try {
		return text ? JSON.parse(text) : undefined;
	} catch {
		return text;
	}
}

/**
 * Talks to one n8n: the public API (X-N8N-API-KEY) for what users script, and the internal REST
 * API (session cookie + browser-id, which n8n binds the cookie to) for what only the editor does.
 */
export class N8nApi {
	apiKey = '';
	private cookie = '';
	private readonly browserId = randomUUID();

	constructor(
		readonly baseUrl: string,
		readonly owner: Owner,
	) {}

	async login(): Promise<void> {
		const response = await fetch(`${this.baseUrl}/rest/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'browser-id': this.browserId },
			body: JSON.stringify({ emailOrLdapLoginId: this.owner.email, password: this.owner.password }),
		});
		if (!response.ok) {
			throw new Error(`n8n login failed: HTTP ${response.status} ${await response.text()}`);
		}
		this.cookie = response.headers
			.getSetCookie()
			.map((c) => c.split(';')[0])
			.join('; ');
	}

	async rest<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.baseUrl}/rest${path}`, {
			method,
			headers: {
				cookie: this.cookie,
				'browser-id': this.browserId,
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const parsed = (await parse(response)) as { data?: T } | undefined;
		if (!response.ok) {
			throw new Error(
				`n8n ${method} /rest${path}: HTTP ${response.status} ${JSON.stringify(parsed)}`,
			);
		}
		return (parsed && typeof parsed === 'object' && 'data' in parsed ? parsed.data : parsed) as T;
	}

	/** Creates an API key with every wanted scope this n8n offers the owner (newer n8n add more). */
	async createApiKey(label: string, wanted: string[]): Promise<string> {
		const available = await this.rest<string[]>('GET', '/api-keys/scopes').catch(() => wanted);
		const scopes = wanted.filter((scope) => available.includes(scope));
		const created = await this.rest<{ id: string; rawApiKey: string }>('POST', '/api-keys', {
			label: `${label}-${Date.now()}`,
			scopes,
			expiresAt: null,
		});
		this.apiKey = created.rawApiKey;
		// A persistent n8n (npm start) would otherwise collect one more key on every start.
		type Key = { id: string; label: string };
		// n8n 2.41 answers { items, counts, ... }; earlier versions a bare array.
		const listed = await this.rest<Key[] | { items: Key[] }>('GET', '/api-keys');
		for (const key of Array.isArray(listed) ? listed : listed.items) {
			if (key.id !== created.id && key.label.startsWith(`${label}-`)) {
				await this.rest('DELETE', `/api-keys/${key.id}`);
			}
		}
		return this.apiKey;
	}

	async api<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
		const response = await fetch(`${this.baseUrl}/api/v1${path}`, {
			method,
			headers: {
				'X-N8N-API-KEY': this.apiKey,
				accept: 'application/json',
				...(body === undefined ? {} : { 'content-type': 'application/json' }),
			},
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const parsed = await parse(response);
		if (!response.ok) {
			throw new Error(
				`n8n ${method} /api/v1${path}: HTTP ${response.status} ${JSON.stringify(parsed)}`,
			);
		}
		return parsed as T;
	}

	async createWorkflow(json: WorkflowJson): Promise<string> {
		const created = await this.api<{ id: string }>('POST', '/workflows', publicWorkflowBody(json));
		return created.id;
	}

	async updateWorkflow(id: string, json: WorkflowJson): Promise<void> {
		await this.api('PUT', `/workflows/${id}`, publicWorkflowBody(json));
	}

	/**
	 * Activating publishes the current version. n8n answers before it has registered the
	 * workflow's webhooks (~0.3 s later here), so wait until each answers a CORS preflight: that
	 * checks registration without starting an execution.
	 */
	async activate(id: string, timeoutMs = 15_000): Promise<void> {
		await this.api('POST', `/workflows/${id}/activate`, {});
		const workflow = await this.api<WorkflowJson>('GET', `/workflows/${id}`);
		const deadline = Date.now() + timeoutMs;
		for (const path of webhookPaths(workflow)) {
			while ((await this.preflight(path)) !== 204) {
				if (Date.now() > deadline) {
					throw new Error(
						`webhook '${path}' of workflow ${id} not registered after ${timeoutMs} ms`,
					);
				}
				await sleep(100);
			}
		}
	}

	private async preflight(path: string): Promise<number> {
		const response = await fetch(this.webhookUrl(path), {
			method: 'OPTIONS',
			headers: { origin: this.baseUrl, 'access-control-request-method': 'POST' },
		});
		await response.arrayBuffer();
		return response.status;
	}

	async deactivate(id: string): Promise<void> {
		await this.api('POST', `/workflows/${id}/deactivate`, {});
	}

	async createAndActivate(json: WorkflowJson): Promise<string> {
		const id = await this.createWorkflow(json);
		await this.activate(id);
		return id;
	}

	async listWorkflows(): Promise<Array<WorkflowJson & { id: string; active: boolean }>> {
		return await this.paginate('/workflows');
	}

	async createCredential(input: { name: string; type: string; data: object }): Promise<string> {
		const created = await this.api<{ id: string }>('POST', '/credentials', input);
		return created.id;
	}

	async updateCredential(id: string, input: { name: string; type: string; data: object }) {
		await this.api('PATCH', `/credentials/${id}`, input);
	}

	async listCredentials(): Promise<Array<{ id: string; name: string; type: string }>> {
		return await this.paginate('/credentials');
	}

	/** Creates the credential, or updates the one of that name and type (so a changed port reaches it). */
	async upsertCredential(input: { name: string; type: string; data: object }): Promise<string> {
		const found = (await this.listCredentials()).find(
			(c) => c.name === input.name && c.type === input.type,
		);
		if (!found) return await this.createCredential(input);
		await this.updateCredential(found.id, input);
		return found.id;
	}

	async listExecutions(query: {
		workflowId?: string;
		status?: 'canceled' | 'error' | 'running' | 'success' | 'waiting';
		includeData?: boolean;
		limit?: number;
	}): Promise<Execution[]> {
		const params = new URLSearchParams();
		for (const [key, value] of Object.entries(query)) {
			if (value !== undefined) params.set(key, String(value));
		}
		const page = await this.api<{ data: Execution[] }>('GET', `/executions?${params}`);
		return page.data;
	}

	/** Polls the executions of a workflow until one matches; bounded so a test fails, not hangs. */
	async waitForExecution(
		workflowId: string,
		predicate: (execution: Execution) => boolean,
		timeoutMs = 30_000,
	): Promise<Execution> {
		const deadline = Date.now() + timeoutMs;
		let seen: Execution[] = [];
		while (Date.now() < deadline) {
			seen = await this.listExecutions({ workflowId, includeData: true, limit: 50 });
			const match = seen.find(predicate);
			if (match) return match;
			await sleep(500);
		}
		const summary = seen.map((e) => `${e.id}:${e.status}`).join(', ') || 'none';
		throw new Error(
			`no matching execution of workflow ${workflowId} in ${timeoutMs} ms (${summary})`,
		);
	}

	/** Production webhook URL; it answers only while the workflow is active. */
	webhookUrl(path: string): string {
		return `${this.baseUrl}/webhook/${path.replace(/^\/+/, '')}`;
	}

	async callWebhook<T = unknown>(
		path: string,
		body?: unknown,
		options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
	): Promise<HttpAnswer<T>> {
		const method = options.method ?? 'POST';
		const response = await fetch(this.webhookUrl(path), {
			method,
			headers: { 'content-type': 'application/json', ...options.headers },
			body: body === undefined || method === 'GET' ? undefined : JSON.stringify(body),
			signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
		});
		return {
			status: response.status,
			body: (await parse(response)) as T,
			headers: response.headers,
		};
	}

	/** Names of every node type this n8n loaded, e.g. `n8n-nodes-batch-guardian.batchStatus`. */
	async nodeTypes(): Promise<string[]> {
		const response = await fetch(`${this.baseUrl}/types/nodes.json`, {
			headers: { cookie: this.cookie, 'browser-id': this.browserId },
		});
		if (!response.ok) throw new Error(`GET /types/nodes.json: HTTP ${response.status}`);
		const types = (await response.json()) as Array<{ name: string }>;
		return [...new Set(types.map((type) => type.name))];
	}

	private async paginate<T>(path: string): Promise<T[]> {
		const all: T[] = [];
		let cursor: string | undefined;
		do {
			const query = `limit=250${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
			const page = await this.api<{ data: T[]; nextCursor?: string | null }>(
				'GET',
				`${path}?${query}`,
			);
			all.push(...page.data);
			cursor = page.nextCursor ?? undefined;
		} while (cursor);
		return all;
	}
}
