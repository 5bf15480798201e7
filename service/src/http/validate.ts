import { z } from 'zod';

import { ID_PATTERN, ID_RULE } from '../../../nodes/shared/contract';

import { validationError } from './errors';

/** Batch ids, item keys, limiter keys and cursor names share one rule (nodes check it too). */
export const idSchema = z.string().regex(ID_PATTERN, ID_RULE);

export function parse<S extends z.ZodType>(schema: S, value: unknown, where: string): z.infer<S> {
	// zod hands the object schema to the error map; keep its fields for "did you mean" hints.
	const fields = new Map<string, string[]>();
	const result = schema.safeParse(value, {
		error: (issue) => {
			const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def
				?.shape;
			if (issue.code === 'unrecognized_keys' && shape) {
				fields.set((issue.path ?? []).join('.'), Object.keys(shape));
			}
			return undefined;
		},
	});
	if (!result.success) {
		throw validationError(result.error, where, (path) => fields.get(path.join('.')));
	}
	return result.data;
}
