import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

import { Redis } from 'ioredis';

import { Keys } from '../../service/src/redis/keys';
import { N8nApi, type WorkflowJson } from '../../scripts/lib/n8n/api';
import { STACK_ENV, type StackInfo } from './stack';

export type { StackInfo };

let cached: StackInfo | undefined;

/** The stack the global setup started; fails clearly when a test runs outside the e2e project. */
export function getStack(): StackInfo {
	if (cached) return cached;
	const file = process.env[STACK_ENV];
	if (!file || !existsSync(file)) {
		throw new Error(
			`${STACK_ENV} is not set or its file is gone: run e2e tests with npm run test:e2e ` +
				'(its global setup starts n8n, the service and Redis)',
		);
	}
	cached = JSON.parse(readFileSync(file, 'utf8')) as StackInfo;
	return cached;
}

/** A client for the stack's n8n; `login()` it first for the editor-only (REST) calls. */
export function n8nClient(): N8nApi {
	const stack = getStack();
	const api = new N8nApi(stack.n8n.baseUrl, stack.n8n.owner);
	api.apiKey = stack.n8n.apiKey;
	return api;
}

/** Short random suffix so webhook paths, names and batch ids never clash across tests or runs. */
export const unique = (prefix: string) => `${prefix}-${randomBytes(4).toString('hex')}`;

/** Calls the companion service directly (its API key unless the test passes another). */
export async function serviceRequest<T = unknown>(
	method: string,
	path: string,
	body?: unknown,
	apiKey = getStack().service.apiKey,
): Promise<{ status: number; body: T }> {
	const response = await fetch(`${getStack().service.url}${path}`, {
		method,
		headers: {
			'x-api-key': apiKey,
			...(body === undefined ? {} : { 'content-type': 'application/json' }),
		},
		body: body === undefined ? undefined : JSON.stringify(body),
	});
	const text = await response.text();
	let parsed: unknown = text;
	try {
		parsed = JSON.parse(text);
	} catch {
		// Not JSON: the raw text is what the test should see.
	}
	return { status: response.status, body: parsed as T };
}

/**
 * Writes a batch's progress hash straight into Redis under the run's key prefix, using the
 * service's own key builder, for tests that need a batch before Submit Batch exists.
 */
export async function seedBatch(batchId: string, fields: Record<string, string | number>) {
	const stack = getStack();
	const redis = new Redis(stack.redisUrl, { maxRetriesPerRequest: 1 });
	try {
		await redis.hset(new Keys(stack.service.keyPrefix).batch(batchId), fields);
	} finally {
		redis.disconnect();
	}
}

export interface NodeSpec {
	name: string;
	type: string;
	typeVersion: number;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
	onError?: 'stopWorkflow' | 'continueRegularOutput' | 'continueErrorOutput';
}

/**
 * A production-webhook workflow: POST /webhook/<path> -> nodes in a chain; the webhook answers
 * with the last node's first item, which is what most e2e tests assert on.
 */
export function webhookChain(name: string, path: string, chain: NodeSpec[]): WorkflowJson {
	const webhook = {
		id: randomUUID(),
		name: 'Webhook',
		type: 'n8n-nodes-base.webhook',
		typeVersion: 2,
		position: [0, 0],
		webhookId: randomUUID(),
		parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} },
	};
	const nodes = [
		webhook,
		...chain.map((node, index) => ({
			id: randomUUID(),
			position: [240 * (index + 1), 0],
			...node,
		})),
	];
	const connections: WorkflowJson['connections'] = {};
	for (let i = 0; i < nodes.length - 1; i++) {
		connections[nodes[i].name] = { main: [[{ node: nodes[i + 1].name, type: 'main', index: 0 }]] };
	}
	return { name, nodes, connections, settings: { executionOrder: 'v1' } };
}

/** A Batch Guardian API credential in the stack's n8n, pointing at the stack's service. */
export async function createServiceCredential(
	n8n: N8nApi,
	prefix: string,
): Promise<{ id: string; name: string }> {
	const stack = getStack();
	const name = unique(prefix);
	const id = await n8n.createCredential({
		name,
		type: 'batchGuardianApi',
		data: { baseUrl: stack.service.url, apiKey: stack.service.apiKey },
	});
	return { id, name };
}

/** Serves `handler` on a free loopback port (a sink for a test): its base URL and a stop. */
export async function serveHttp(
	handler: RequestListener,
): Promise<{ url: string; stop: () => Promise<void> }> {
	const server = createServer(handler);
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	return {
		url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
		async stop() {
			server.closeAllConnections();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}
