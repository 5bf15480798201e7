import type { IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { BATCH_LIMITS, LIMITER_LIMITS } from './contract';
import { checkNumber } from './parameters';

const LIMITS = { ...BATCH_LIMITS, ...LIMITER_LIMITS };
export type LimitName = keyof typeof LIMITS;

/** A number parameter whose label, default and range come from the wire contract. */
export function limitProperty(
	name: LimitName,
	description: string,
	extra: Partial<INodeProperties> = {},
): INodeProperties {
	const { label, default: fallback, min, max, integer } = LIMITS[name];
	return {
		displayName: label,
		name,
		type: 'number',
		typeOptions: { minValue: min, maxValue: max, ...(integer ? {} : { numberPrecision: 3 }) },
		default: fallback,
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
	const limit = LIMITS[name];
	return checkNumber.call(this, value ?? limit.default, limit.label, limit, itemIndex);
}
