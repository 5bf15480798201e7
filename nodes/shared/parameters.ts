import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ID_PATTERN, ID_RULE } from './contract';

export { ID_PATTERN };

export function requireId(
	this: IExecuteFunctions,
	parameter: string,
	label: string,
	itemIndex: number,
): string {
	const raw = this.getNodeParameter(parameter, itemIndex, '') as unknown;
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
): string | undefined {
	const raw = this.getNodeParameter(parameter, itemIndex, '') as unknown;
	if (raw === undefined || raw === null || (typeof raw === 'string' && raw.trim() === '')) {
		return undefined;
	}
	return requireId.call(this, parameter, label, itemIndex);
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
