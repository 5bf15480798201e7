import { failureOfError, failureOfStatus, type Failure } from './outcomes';
import type { LeasedItem } from './store';

export interface ChunkDispatch {
	batchId: string;
	chunkIndex: number;
	attempt: number;
	lease: string;
	items: LeasedItem[];
}

export type DeliveryResult =
	{ ok: true } | { ok: false; failure: Failure } | { ok: false; shutdown: true };

/**
 * POSTs one dispatch to the worker webhook. Every item carries its idempotency key
 * `<batchId>:<key>`, the same on every attempt, so a key-honouring sink applies it once.
 */
export async function deliverChunk(
	targetUrl: string,
	dispatch: ChunkDispatch,
	options: { timeoutMs: number; secret?: string; shutdown: AbortSignal },
): Promise<DeliveryResult> {
	const body = JSON.stringify({
		batchId: dispatch.batchId,
		chunkIndex: dispatch.chunkIndex,
		attempt: dispatch.attempt,
		lease: dispatch.lease,
		items: dispatch.items.map((item) => ({
			key: item.key,
			json: item.json,
			idempotencyKey: `${dispatch.batchId}:${item.key}`,
			attempt: item.attempt,
		})),
	});
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (options.secret) headers['x-batch-guardian-secret'] = options.secret;
	try {
		const response = await fetch(targetUrl, {
			method: 'POST',
			headers,
			body,
			signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.shutdown]),
		});
		const text = await response.text();
		if (response.ok) return { ok: true };
		return {
			ok: false,
			failure: failureOfStatus(response.status, response.headers.get('retry-after'), text),
		};
	} catch (error) {
		if (options.shutdown.aborted) return { ok: false, shutdown: true };
		return { ok: false, failure: failureOfError(error, options.timeoutMs) };
	}
}
