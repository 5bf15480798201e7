import { ApiError } from '../../http/errors';

/** The named error codes of the batch scripts, mapped to user-facing errors in one place. */
export function batchError(code: string, batchId: string, reply: Record<string, unknown> = {}) {
	const state = typeof reply.state === 'string' ? reply.state : undefined;
	switch (code) {
		case 'no_batch':
			return new ApiError(
				404,
				'not_found',
				`No batch '${batchId}'; Submit Batch returns the batchId to use`,
			);
		case 'batch_sealed':
			return new ApiError(
				409,
				'batch_sealed',
				`Batch '${batchId}' is sealed: it takes no more items. Submit a new batch key to add items.`,
			);
		case 'batch_finished':
			return new ApiError(
				409,
				'batch_finished',
				`Batch '${batchId}' is cancelled or finished: it takes no more items.`,
			);
		case 'batch_running':
			return new ApiError(
				409,
				'batch_running',
				`Batch '${batchId}' has not finished; cancel it first (POST /v1/batches/${batchId}/cancel), then delete it.`,
			);
		case 'invalid_state':
			return new ApiError(
				409,
				'invalid_state',
				`Batch '${batchId}' is ${state ?? 'in a state that does not allow this'}; this action is not allowed now.`,
			);
		default:
			return new ApiError(500, 'internal', `Batch script answered unknown code '${code}'`);
	}
}
