import { ApiError } from '../http/errors';

/** The negative codes of the batch scripts, mapped to user-facing errors in one place. */
export function batchScriptError(code: number, batchId: string, state?: string): ApiError {
	switch (code) {
		case -1:
			return new ApiError(
				404,
				'not_found',
				`No batch '${batchId}'; Submit Batch returns the batchId to use`,
			);
		case -2:
			return new ApiError(
				409,
				'batch_sealed',
				`Batch '${batchId}' is sealed: it takes no more items. Submit a new batch key to add items.`,
			);
		case -3:
			return new ApiError(
				409,
				'batch_finished',
				`Batch '${batchId}' is cancelled or finished: it takes no more items.`,
			);
		case -4:
			return new ApiError(
				409,
				'invalid_state',
				`Batch '${batchId}' is ${state ?? 'in a state that does not allow this'}; this action is not allowed now.`,
			);
		default:
			return new ApiError(500, 'internal', `Batch script answered unknown code ${code}`);
	}
}

/** Throws the mapped error when a script answered a negative code; returns the array otherwise. */
export function expectArray(
	reply: number | Array<string | number>,
	batchId: string,
	state?: string,
): Array<string | number> {
	if (typeof reply === 'number') throw batchScriptError(reply, batchId, state);
	return reply;
}
