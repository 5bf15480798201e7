/** The fields an object at `path` (a zod issue path) takes, when the validator knows them. */
export type KnownFields = (path: readonly PropertyKey[]) => string[] | undefined;

/**
 * Names an unknown field and what to send instead: the known field it most likely meant (same
 * letters in another case, or one edit away, e.g. `chunksize` -> `chunkSize`), else every known one.
 */
export function unknownFieldMessage(path: string, key: string, known?: string[]): string {
	const meant = known && closestField(key, known);
	if (meant) return `unknown field "${path}": did you mean "${meant}"?`;
	if (known && known.length > 0)
		return `unknown field "${path}"; known fields: ${known.join(', ')}`;
	return `unknown field "${path}"; remove it`;
}

export function closestField(key: string, known: string[]): string | undefined {
	const lower = key.toLowerCase();
	return (
		known.find((field) => field.toLowerCase() === lower) ??
		known.find((field) => withinOneEdit(lower, field.toLowerCase()))
	);
}

/** One insertion, deletion, substitution or swap of neighbours turns `a` into `b`. */
function withinOneEdit(a: string, b: string): boolean {
	if (Math.abs(a.length - b.length) > 1) return false;
	let i = 0;
	while (i < a.length && i < b.length && a[i] === b[i]) i++;
	if (a.length === b.length) {
		const swapped = a[i] === b[i + 1] && a[i + 1] === b[i] && a.slice(i + 2) === b.slice(i + 2);
		return swapped || a.slice(i + 1) === b.slice(i + 1);
	}
	return a.length > b.length ? a.slice(i + 1) === b.slice(i) : a.slice(i) === b.slice(i + 1);
}
