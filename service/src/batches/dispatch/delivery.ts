import { SECRET_HEADER } from '../../../../nodes/shared/contract';
import type { DispatchAnswer, LeasedItem } from '../state/commands';
import type { BatchSettings } from '../state/reads';
import { failureOfError, failureOfStatus, type Failure } from './outcomes';

export interface ChunkDispatch {
	batchId: string;
	chunkIndex: number;
	attempt: number;
	lease: string;
	items: LeasedItem[];
}

export type DeliveryResult =
	{ ok: true } | { ok: false; failure: Failure; sent: boolean } | { ok: false; shutdown: true };

/**
 * The body of a chunk POST. Item JSON is spliced in exactly as stored: never parsed and
 * re-serialised on the way. Every item carries its idempotency key `<batchId>:<key>`, the same on
 * every attempt, so a key-honouring sink applies it once.
 */
export function chunkBody(dispatch: ChunkDispatch): string {
	const parts = dispatch.items.map(
		(item) =>
			`{"key":${JSON.stringify(item.key)},"json":${item.json},"idempotencyKey":${JSON.stringify(`${dispatch.batchId}:${item.key}`)},"attempt":${item.attempt}}`,
	);
	return `{"batchId":${JSON.stringify(dispatch.batchId)},"chunkIndex":${dispatch.chunkIndex},"attempt":${dispatch.attempt},"lease":${JSON.stringify(dispatch.lease)},"items":[${parts.join(',')}]}`;
}

/** POSTs one dispatch to the worker webhook. */
export async function deliverChunk(
	targetUrl: string,
	dispatch: ChunkDispatch,
	options: { timeoutMs: number; secret?: string; shutdown: AbortSignal },
): Promise<DeliveryResult> {
	const headers: Record<string, string> = { 'content-type': 'application/json' };
	if (options.secret) headers[SECRET_HEADER] = options.secret;
	try {
		const response = await fetch(targetUrl, {
			method: 'POST',
			headers,
			body: chunkBody(dispatch),
			signal: AbortSignal.any([AbortSignal.timeout(options.timeoutMs), options.shutdown]),
		});
		const text = await response.text();
		if (response.ok) return { ok: true };
		return {
			ok: false,
			sent: true,
			failure: failureOfStatus(response.status, response.headers.get('retry-after'), text),
		};
	} catch (error) {
		if (options.shutdown.aborted) return { ok: false, shutdown: true };
		return { ok: false, ...failureOfError(error, options.timeoutMs) };
	}
}

/** What a POST's outcome means for the items the worker did not record itself. */
export function dispatchAnswer(
	result: DeliveryResult,
	inDoubt: BatchSettings['inDoubt'],
): DispatchAnswer {
	if (result.ok) return { mode: 'ok' };
	if ('shutdown' in result) {
		return {
			mode: 'doubt',
			transient: true,
			errorClass: 'shutdown',
			message: 'the service shut down while the POST was in flight',
		};
	}
	const { failure, sent } = result;
	if (!sent) return { mode: 'fail', ...failure };
	if (failure.httpCode === undefined) return { mode: 'doubt', ...failure };
	// A 500 (and the like): the worker ran but did not say which items it worked. 502/503/504
	// come from in front of the workflow (a proxy, n8n starting): it never ran.
	if (failure.httpCode >= 500 && !NEVER_RAN.has(failure.httpCode) && inDoubt === 'hold') {
		return { mode: 'unsure', ...failure };
	}
	return { mode: 'fail', ...failure };
}

const NEVER_RAN = new Set([502, 503, 504]);

/** A POST's outcome as the circuit breaker counts it (a shutdown says nothing of the target). */
export function breakerOutcome(
	result: DeliveryResult,
	answer: DispatchAnswer,
): 'success' | 'failure' | 'release' {
	if ('shutdown' in result) return 'release';
	return 'transient' in answer && answer.transient ? 'failure' : 'success';
}
