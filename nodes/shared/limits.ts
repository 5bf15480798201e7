import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { BATCH_LIMITS } from './contract';
import { checkNumber } from './parameters';

export type LimitName = keyof typeof BATCH_LIMITS;

/** A number parameter whose label, default and range come from the wire contract. */
export function limitProperty(
	name: LimitName,
	description: string,
	extra: Partial<INodeProperties> = {},
): INodeProperties {
	const limit = BATCH_LIMITS[name];
	return {
		displayName: limit.label,
		name,
		type: 'number',
		typeOptions: {
			minValue: limit.min,
			maxValue: limit.max,
			...(limit.integer ? {} : { numberPrecision: 3 }),
		},
		default: limit.default,
		description,
		...extra,
	};
}

/** Checks a value against the contract's range for `name`; missing means the default. */
export function readLimit(
	this: IExecuteFunctions,
	name: LimitName,
	value: unknown,
	itemIndex: number,
): number {
	const limit = BATCH_LIMITS[name];
	return checkNumber.call(this, value ?? limit.default, limit.label, limit, itemIndex);
}
