import { serveHttp } from './helpers';

/** How the sink answers item number n; every other item is accepted (200). */
export const isTransientOnce = (n: number) => n % 100 === 7;
export const isPermanent = (n: number) => n % 250 === 13;
export const isAlwaysUnavailable = (n: number) => n % 500 === 99;
/** What the first answer to a transient-once item asks for. */
export const RETRY_AFTER_S = 20;

export interface Delivery {
	at: number;
	status: number;
}

/**
 * The HTTP sink the workflow sends to: records every delivery per Idempotency-Key (also one
 * sent again after a 2xx, which a key-honouring target would absorb, so the test sees it), fails
 * transient-once items with 503 + Retry-After the first time, always-unavailable ones with 503
 * without Retry-After, and permanent ones with 422.
 */
export class CheckpointSink {
	readonly deliveries = new Map<string, Delivery[]>();
	private stopServer?: () => Promise<void>;

	async start(): Promise<string> {
		const { url, stop } = await serveHttp((req, res) => {
			let body = '';
			req.on('data', (chunk: Buffer) => (body += chunk.toString()));
			req.on('end', () => {
				const at = Date.now();
				const key = String(req.headers['idempotency-key']);
				const n = Number((JSON.parse(body || '{}') as { n?: unknown }).n);
				const seen = this.deliveries.get(key) ?? [];
				let status = 200;
				const headers: Record<string, string> = { 'content-type': 'application/json' };
				if (isPermanent(n)) status = 422;
				else if (isAlwaysUnavailable(n)) status = 503;
				else if (isTransientOnce(n) && seen.length === 0) {
					status = 503;
					headers['retry-after'] = String(RETRY_AFTER_S);
				}
				seen.push({ at, status });
				this.deliveries.set(key, seen);
				res.writeHead(status, headers);
				res.end(JSON.stringify(status === 200 ? { ok: true } : { error: `sink says ${status}` }));
			});
		});
		this.stopServer = stop;
		return `${url}/items`;
	}

	async stop(): Promise<void> {
		await this.stopServer?.();
	}
}
