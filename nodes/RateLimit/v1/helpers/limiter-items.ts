import type { IExecuteFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { REFILL_UNIT_MS, type RefillUnit } from '../../../shared/contract';
import {
	checkNumber,
	n8nReader,
	requireId,
	type ParameterReader,
} from '../../../shared/parameters';
import type { ReadItem } from '../../../shared/run-items';

/** Mirrors service/src/limits/settings.ts, so a bad value is refused before any request. */
export const REFILL_UNITS = Object.keys(REFILL_UNIT_MS) as RefillUnit[];
const MAX_TOKENS = 1_000_000_000;

export interface LimiterSettings {
	capacity: number;
	refillAmount: number;
	refillUnit: RefillUnit;
	adaptive: boolean;
}

export interface LimiterItem extends ReadItem {
	limiterKey: string;
	settings: LimiterSettings;
	/** Tokens this item takes; 0 where the operation has no cost (Report Throttle). */
	cost: number;
}

export function readSettings(
	this: IExecuteFunctions,
	itemIndex: number,
	read: ParameterReader = n8nReader(this),
): LimiterSettings {
	const whole = (name: string, label: string, min: number, max: number) =>
		checkNumber.call(this, read(name, itemIndex, undefined), label, { min, max }, itemIndex);
	const capacity = whole('capacity', 'Capacity', 1, MAX_TOKENS);
	const refillAmount = whole('refillAmount', 'Refill Amount', 1, MAX_TOKENS);
	const refillUnit = read('refillUnit', itemIndex, undefined) as LimiterSettings['refillUnit'];
	if (!REFILL_UNITS.includes(refillUnit)) {
		throw new NodeOperationError(
			this.getNode(),
			`'Refill Unit' must be second, minute or hour, got '${String(refillUnit)}'`,
			{ itemIndex },
		);
	}
	const adaptive = read('adaptive', itemIndex, false) === true;
	return { capacity, refillAmount, refillUnit, adaptive };
}

/**
 * Limiter key, settings and (for Wait for Capacity and Split) the item's cost. Give it a
 * perRunReader made once per run, so what is the same for every item is read once.
 */
export function readLimiterItem(
	this: IExecuteFunctions,
	itemIndex: number,
	withCost: boolean,
	read: ParameterReader = n8nReader(this),
): LimiterItem {
	const limiterKey = requireId.call(this, 'limiterKey', 'Limiter Key', itemIndex, read);
	const settings = readSettings.call(this, itemIndex, read);
	if (!withCost) return { itemIndex, limiterKey, settings, cost: 0 };
	const raw = read('costPerItem', itemIndex, undefined);
	const cost = checkNumber.call(this, raw, 'Cost per Item', { min: 1, max: MAX_TOKENS }, itemIndex);
	if (cost > settings.capacity) {
		throw new NodeOperationError(
			this.getNode(),
			`'Cost per Item' (${cost}) is above 'Capacity' (${settings.capacity}): this item could never pass`,
			{ itemIndex, description: 'Raise Capacity or lower the cost of this item.' },
		);
	}
	return { itemIndex, limiterKey, settings, cost };
}

export const byLimiterKey = (item: LimiterItem) => item.limiterKey;

export const limiterPath = (limiterKey: string, operation?: string): string =>
	`/v1/limiters/${encodeURIComponent(limiterKey)}${operation ? `/${operation}` : ''}`;
