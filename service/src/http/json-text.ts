import { MAX_JSON_DEPTH } from '../../../nodes/shared/contract';
import { ApiError } from './errors';

/**
 * Levels a request adds around the user's own data: body -> items -> item -> json. A body may
 * nest MAX_JSON_DEPTH levels more than that, so an item's json (or a batch's meta) may nest
 * MAX_JSON_DEPTH levels.
 */
const ENVELOPE_LEVELS = 3;
export const MAX_BODY_DEPTH = MAX_JSON_DEPTH + ENVELOPE_LEVELS;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_LIST = 0x5b;
const CLOSE_LIST = 0x5d;

/**
 * Parses a request body: depth checked on the raw text first (one pass, no recursion, so a
 * million levels cost what their bytes cost), then JSON.parse, then a walk that refuses
 * `__proto__` keys, which JSON.parse keeps as own keys and later copies would silently drop.
 */
export function parseJsonBody(text: string): Record<string, unknown> {
	if (nestsDeeperThan(text, MAX_BODY_DEPTH)) {
		throw new ApiError(
			400,
			'json_too_deep',
			`Request body is nested more than ${MAX_BODY_DEPTH} levels deep: item json and meta may nest at most ${MAX_JSON_DEPTH} levels (MAX_JSON_DEPTH). Flatten the data or send the deep part as a string.`,
		);
	}
	let value: unknown;
	try {
		value = JSON.parse(text);
	} catch (error) {
		throw new ApiError(
			400,
			'invalid_json',
			`Request body is not valid JSON: ${(error as Error).message}`,
		);
	}
	if (typeof value !== 'object' || value === null || Array.isArray(value)) {
		throw new ApiError(
			400,
			'invalid_json',
			`Request body must be a JSON object ({...}), not ${value === null ? 'null' : Array.isArray(value) ? 'a list' : `a ${typeof value}`}`,
		);
	}
	const forbidden = findProtoKey(value);
	if (forbidden) {
		throw new ApiError(
			400,
			'forbidden_key',
			`Request body has a "__proto__" key at '${forbidden}': it cannot be stored as sent. Rename the key.`,
		);
	}
	return value as Record<string, unknown>;
}

/** Counts brackets outside strings; stops at the first level past `max`. */
function nestsDeeperThan(text: string, max: number): boolean {
	let depth = 0;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		if (c === QUOTE) {
			// Skip the string, escapes included; an unterminated one is JSON.parse's to report.
			for (i++; i < text.length; i++) {
				const s = text.charCodeAt(i);
				if (s === BACKSLASH) i++;
				else if (s === QUOTE) break;
			}
		} else if (c === OPEN_OBJECT || c === OPEN_LIST) {
			if (++depth > max) return true;
		} else if (c === CLOSE_OBJECT || c === CLOSE_LIST) {
			depth--;
		}
	}
	return false;
}

interface Visit {
	value: object;
	key: string;
	parent?: Visit;
}

/** The dotted path of the first `__proto__` own key, in document order; undefined when none. */
function findProtoKey(root: object): string | undefined {
	const stack: Visit[] = [{ value: root, key: '' }];
	while (stack.length > 0) {
		const visit = stack.pop() as Visit;
		const keys = Object.keys(visit.value);
		if (!Array.isArray(visit.value) && keys.includes('__proto__')) {
			return pathOf({ value: {}, key: '__proto__', parent: visit });
		}
		for (let k = keys.length - 1; k >= 0; k--) {
			const child = (visit.value as Record<string, unknown>)[keys[k]];
			if (typeof child === 'object' && child !== null) {
				stack.push({ value: child, key: keys[k], parent: visit });
			}
		}
	}
	return undefined;
}

function pathOf(visit: Visit): string {
	const parts: string[] = [];
	for (let at: Visit | undefined = visit; at?.parent; at = at.parent) parts.unshift(at.key);
	return parts.join('.');
}
