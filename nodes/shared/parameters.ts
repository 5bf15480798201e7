import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ID_PATTERN, ID_RULE } from './contract';
import { fieldReader, fieldReferences, type FieldReference } from './field-reference';

export { ID_PATTERN };

/** How a parameter is read: n8n's getNodeParameter, or a perRunReader over it. */
export type ParameterReader = (name: string, itemIndex: number, fallback?: unknown) => unknown;

/** n8n's getNodeParameter as a ParameterReader: every read evaluated by n8n. */
export const n8nReader =
	(ctx: IExecuteFunctions): ParameterReader =>
	(name, index, fallback) =>
		ctx.getNodeParameter(name, index, fallback);

export function requireId(
	this: IExecuteFunctions,
	parameter: string,
	label: string,
	itemIndex: number,
	read: ParameterReader = n8nReader(this),
): string {
	const raw = read(parameter, itemIndex, '');
	const value = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : '';
	if (value === '') {
		throw new NodeOperationError(this.getNode(), `'${label}' is empty`, {
			itemIndex,
			description: `Set '${label}', for example with an expression such as {{ $json.batchId }}.`,
		});
	}
	if (!ID_PATTERN.test(value)) {
		throw new NodeOperationError(
			this.getNode(),
			`'${label}' is not a valid id: '${value.slice(0, 60)}'`,
			{
				itemIndex,
				description: `Ids ${ID_RULE}.`,
			},
		);
	}
	return value;
}

/** An id parameter that may stay empty; returns undefined then, and validates otherwise. */
export function optionalId(
	this: IExecuteFunctions,
	parameter: string,
	label: string,
	itemIndex: number,
	read: ParameterReader = n8nReader(this),
): string | undefined {
	const raw = read(parameter, itemIndex, '');
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
		return undefined;
	}
	return requireId.call(this, parameter, label, itemIndex, read);
}

export interface NumberRule {
	min: number;
	max: number;
	integer?: boolean;
}

/** Checks a number the user typed or computed, naming the field and the allowed range. */
export function checkNumber(
	this: IExecuteFunctions,
	value: unknown,
	label: string,
	rule: NumberRule,
	itemIndex: number,
): number {
	const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
	const integer = rule.integer ?? true;
	if (
		typeof number !== 'number' ||
		!Number.isFinite(number) ||
		(integer && !Number.isInteger(number)) ||
		number < rule.min ||
		number > rule.max
	) {
		throw new NodeOperationError(
			this.getNode(),
			`'${label}' must be ${integer ? 'a whole number' : 'a number'} from ${rule.min} to ${rule.max}, got ${JSON.stringify(value)}`,
			{ itemIndex },
		);
	}
	return number;
}

/** Checks an http(s) URL the service will POST to, e.g. the worker webhook. */
export function checkHttpUrl(
	this: IExecuteFunctions,
	value: unknown,
	label: string,
	itemIndex: number,
	example = 'http://localhost:5678/webhook/batch-worker',
): string {
	const text = typeof value === 'string' ? value.trim() : '';
	let valid = false;
	try {
		const url = new URL(text);
		valid = url.protocol === 'http:' || url.protocol === 'https:';
	} catch {
		valid = false;
	}
	if (!valid) {
		throw new NodeOperationError(
			this.getNode(),
			`'${label}' must be an http(s) URL, got '${text.slice(0, 100)}'`,
			{
				itemIndex,
				description: `Use a workflow's production webhook URL, e.g. ${example}`,
			},
		);
	}
	return text;
}

/** What makes an expression's value differ from one input item to the next. */
const PER_ITEM = /\$json|\$binary|\$itemIndex|\$item\b|\.item\b|\$node\b|\$data\b/;

/**
 * Whether a parameter reads the same for every input item: a fixed value, or an expression that
 * names no item (`$('Webhook').first().json.body.batchId`). n8n evaluates an expression once per
 * item (a fraction of a millisecond each, which adds up over thousands of items), so such a
 * parameter can be read once per run. A parameter left at its default is read per item.
 */
export function sameForEveryItem(ctx: IExecuteFunctions, name: string): boolean {
	const raw = (ctx.getNode().parameters ?? {})[name];
	if (raw === undefined) return false;
	return typeof raw !== 'string' || !raw.startsWith('=') || !PER_ITEM.test(raw);
}

/**
 * Reads parameters per item, each one that is the same for every item only once. A parameter
 * that is nothing but fields (`{{ $json.key }}`, `{{ $json.itemKey ?? $json.key }}`,
 * `{{ $('Claim').item.json.key }}`) is read from the item when it reads exactly as n8n would,
 * without n8n 2.x's expression engine (see field-reference.ts); anything else goes to n8n.
 */
export function perRunReader(ctx: IExecuteFunctions): ParameterReader {
	const once = new Map<string, unknown>();
	const references = new Map<string, FieldReference[] | undefined>();
	const readField = fieldReader(ctx);
	return (name: string, itemIndex: number, fallback: unknown = ''): unknown => {
		if (once.has(name)) return once.get(name);
		if (!references.has(name)) references.set(name, fieldReferences(ctx, name));
		const fields = references.get(name);
		const value = fields && readField(fields, itemIndex);
		if (value !== undefined) return value;
		const evaluated = ctx.getNodeParameter(name, itemIndex, fallback) as unknown;
		if (sameForEveryItem(ctx, name)) once.set(name, evaluated);
		return evaluated;
	};
}
