import type { IHttpRequestOptions } from 'n8n-workflow';

type Answer = { statusCode: number; body: unknown };

/**
 * An in-memory stand-in for the batch routes of service/API.md, enough for Submit Batch:
 * create (idempotent by key), append pages (duplicates by key), seal.
 */
export function fakeBatchService(existing?: { state: string; sealed?: boolean }) {
	const keys = new Set<string>();
	const pages: Array<Array<{ key: string; json: unknown }>> = [];
	let created: Record<string, unknown> | undefined;
	let sealed = false;
	const respond = (req: IHttpRequestOptions): Answer => {
		const path = new URL(String(req.url)).pathname;
		const body = req.body as Record<string, unknown> | undefined;
		if (req.method === 'POST' && path === '/v1/batches') {
			created = body;
			return existing
				? { statusCode: 200, body: { batchId: 'b-1', created: false, ...existing } }
				: { statusCode: 201, body: { batchId: 'b-1', created: true, state: 'open' } };
		}
		if (req.method === 'POST' && path === '/v1/batches/b-1/items') {
			const page = (body?.items ?? []) as Array<{ key: string; json: unknown }>;
			pages.push(page);
			let accepted = 0;
			for (const item of page) {
				if (!keys.has(item.key)) accepted++;
				keys.add(item.key);
			}
			return { statusCode: 200, body: { accepted, duplicates: page.length - accepted } };
		}
		if (req.method === 'POST' && path === '/v1/batches/b-1/seal') {
			sealed = true;
			return {
				statusCode: 200,
				body: { batchId: 'b-1', state: 'running', counts: { total: keys.size } },
			};
		}
		return { statusCode: 404, body: { error: { code: 'not_found', message: `No route ${path}` } } };
	};
	return {
		respond,
		pages,
		keys,
		get created() {
			return created;
		},
		get sealed() {
			return sealed;
		},
	};
}
