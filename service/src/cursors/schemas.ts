import { z } from 'zod';

import { MAX_CURSOR_BYTES } from '../../../nodes/shared/contract';
import { idSchema } from '../http/validate';

const version = z.int().min(0).max(Number.MAX_SAFE_INTEGER);

export const saveCursorBody = z.strictObject({
	value: z
		.unknown()
		.refine((value) => value !== undefined, {
			message: "is required: the cursor's new value (any JSON, e.g. the highest updated_at copied)",
		})
		.describe(`Any JSON up to ${MAX_CURSOR_BYTES} bytes`),
	expectedVersion: version.describe(
		'The version this run loaded (0: the cursor must not exist yet); another version is refused with 409',
	),
	saveId: idSchema
		.optional()
		.describe('Names this save: re-sent with the same id after a lost answer, it counts once'),
	execution: z
		.strictObject({ id: z.string().min(1).max(64), workflowId: z.string().max(64).default('') })
		.optional()
		.describe('The n8n execution saving, named in the conflict error another run may get'),
});
export type SaveCursorBody = z.infer<typeof saveCursorBody>;

export const deleteCursorQuery = z.strictObject({
	expectedVersion: z.coerce
		.number()
		.pipe(version)
		.optional()
		.describe('Delete only while the cursor is at this version'),
});

export const cursorSchema = z.object({
	name: z.string(),
	value: z.unknown(),
	version: z.number().describe('1 after the first save, one more per save'),
	checksum: z.string().describe('SHA-256 (hex) of name, version and value JSON'),
	updatedAt: z.string(),
	savedBy: z.string().nullable(),
});
