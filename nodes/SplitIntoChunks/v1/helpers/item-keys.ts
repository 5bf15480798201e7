import { createHash } from 'node:crypto';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { ID_PATTERN } from '../../../shared/parameters';
import { itemBytes, PAGE_BYTE_BUDGET, type BatchItem } from './pages';

export interface KeyRules {
	onMissingKey: 'error' | 'hashItem';
	hashKeys: boolean;
}

/** Options > On Missing Key and Hash Keys, with their defaults. */
export const keyRules = (options: Partial<KeyRules>): KeyRules => ({
	onMissingKey: options.onMissingKey ?? 'error',
	hashKeys: options.hashKeys ?? false,
});

const digest = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 40);

/** Reads a dotted path such as customer.email; a field literally named with a dot wins. */
function readField(json: IDataObject, path: string): unknown {
	if (path in json) return json[path];
	return path
		.split('.')
		.reduce<unknown>(
			(value, part) =>
				value !== null && typeof value === 'object' ? (value as IDataObject)[part] : undefined,
			json,
		);
}

/** The item key of one input item, by field or expression, checked against the service's id rule. */
export function itemKey(this: IExecuteFunctions, itemIndex: number, rules: KeyRules): string {
	const json = this.getInputData()[itemIndex]?.json ?? {};
	const source = this.getNodeParameter('keySource', itemIndex, 'field') as string;
	let raw: unknown;
	let where: string;
	if (source === 'expression') {
		raw = this.getNodeParameter('keyValue', itemIndex, '');
		where = "the 'Key' expression";
	} else {
		const field = String(this.getNodeParameter('keyField', itemIndex, 'id')).trim();
		raw = field === '' ? undefined : readField(json, field);
		where = `the field '${field}'`;
	}
	const text =
		typeof raw === 'string'
			? raw.trim()
			: typeof raw === 'number' || typeof raw === 'bigint'
				? String(raw)
				: '';
	if (text === '') {
		if (rules.onMissingKey === 'hashItem') return `h-${digest(JSON.stringify(json))}`;
		throw new NodeOperationError(this.getNode(), `Item ${itemIndex} has no key in ${where}`, {
			itemIndex,
			description:
				raw !== undefined && raw !== null && typeof raw === 'object'
					? 'The key must be text or a number, not an object or list.'
					: "Give every item a key, or set Options > On Missing Key to 'Use a Hash of the Item'.",
		});
	}
	if (rules.hashKeys) return `h-${digest(text)}`;
	if (!ID_PATTERN.test(text)) {
		throw new NodeOperationError(
			this.getNode(),
			`Item ${itemIndex} has a key the service cannot store: '${text.slice(0, 60)}'`,
			{
				itemIndex,
				description:
					'Keys are 1-128 letters, digits, dot, underscore, colon or dash. Turn on Options > Hash Keys to accept any value (e-mail addresses, URLs).',
			},
		);
	}
	return text;
}

/** One input item as the batch gets it: its key and json, refused when too large to upload. */
export function batchItem(this: IExecuteFunctions, itemIndex: number, rules: KeyRules): BatchItem {
	const item = {
		key: itemKey.call(this, itemIndex, rules),
		json: this.getInputData()[itemIndex].json,
	};
	const bytes = itemBytes(item);
	if (bytes > PAGE_BYTE_BUDGET) {
		throw new NodeOperationError(
			this.getNode(),
			`Item ${itemIndex} is ${bytes} bytes of JSON, over the ${PAGE_BYTE_BUDGET}-byte limit per item`,
			{ itemIndex, description: 'Send a reference (an id or URL) instead of large content.' },
		);
	}
	return item;
}
