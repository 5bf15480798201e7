import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { checkNumber, requireId } from '../../../shared/parameters';
import { asNodeError, failedItem, type NodeError } from '../../../shared/run-items';

/** Mirrors service/src/limits/settings.ts, so a bad value is refused before any request. */
export const REFILL_UNITS = ['second', 'minute', 'hour'] as const;
const MAX_TOKENS = 1_000_000_000;
export const MAX_WAIT_LIMIT_MS = 600_000;

export interface LimiterSettings {
	capacity: number;
	refillAmount: number;
	refillUnit: (typeof REFILL_UNITS)[number];
	adaptive: boolean;
}

export interface LimiterItem {
	itemIndex: number;
	limiterKey: string;
	settings: LimiterSettings;
	/** Tokens this item takes; 0 where the operation has no cost (Report Throttle). */
	cost: number;
}

export type Failures = Map<number, { error: NodeError; extra?: IDataObject }>;

export function readSettings(this: IExecuteFunctions, itemIndex: number): LimiterSettings {
	const whole = (name: string, label: string, min: number, max: number) =>
		checkNumber.call(this, this.getNodeParameter(name, itemIndex), label, { min, max }, itemIndex);
	const capacity = whole('capacity', 'Capacity', 1, MAX_TOKENS);
	const refillAmount = whole('refillAmount', 'Refill Amount', 1, MAX_TOKENS);
	const refillUnit = this.getNodeParameter(
		'refillUnit',
		itemIndex,
	) as LimiterSettings['refillUnit'];
	if (!REFILL_UNITS.includes(refillUnit)) {
		throw new NodeOperationError(
			this.getNode(),
			`'Refill Unit' must be second, minute or hour, got '${String(refillUnit)}'`,
			{ itemIndex },
		);
	}
	const adaptive = this.getNodeParameter('adaptive', itemIndex, false) === true;
	return { capacity, refillAmount, refillUnit, adaptive };
}

/** Limiter key, settings and (for Wait for Capacity and Split) the item's cost. */
export function readLimiterItem(
	this: IExecuteFunctions,
	itemIndex: number,
	withCost: boolean,
): LimiterItem {
	const limiterKey = requireId.call(this, 'limiterKey', 'Limiter Key', itemIndex);
	const settings = readSettings.call(this, itemIndex);
	if (!withCost) return { itemIndex, limiterKey, settings, cost: 0 };
	const raw = this.getNodeParameter('costPerItem', itemIndex);
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

/** Reads every item; bad ones become failures, good ones are grouped by limiter key in order. */
export function readAll<T extends LimiterItem>(
	ctx: IExecuteFunctions,
	read: (itemIndex: number) => T,
): { groups: Map<string, T[]>; failures: Failures } {
	const groups = new Map<string, T[]>();
	const failures: Failures = new Map();
	const count = ctx.getInputData().length;
	for (let itemIndex = 0; itemIndex < count; itemIndex++) {
		try {
			const item = read(itemIndex);
			const group = groups.get(item.limiterKey) ?? [];
			group.push(item);
			groups.set(item.limiterKey, group);
		} catch (error) {
			failures.set(itemIndex, { error: asNodeError(ctx, error, itemIndex) });
		}
	}
	return { groups, failures };
}

/** Without Continue On Fail, the failure of the first failed item stops the node. */
export function stopOnFailure(ctx: IExecuteFunctions, failures: Failures): void {
	if (failures.size === 0 || ctx.continueOnFail()) return;
	throw failures.get(Math.min(...failures.keys()))!.error;
}

export function failAll(
	failures: Failures,
	items: LimiterItem[],
	error: NodeError,
	extra?: IDataObject,
): void {
	for (const item of items) failures.set(item.itemIndex, { error, extra });
}

/** The input item unchanged (json and binary), paired with itself; `extra` fields added to json. */
export function passItem(
	item: INodeExecutionData,
	itemIndex: number,
	extra?: IDataObject,
): INodeExecutionData {
	const json = extra ? { ...item.json, ...extra } : item.json;
	return item.binary
		? { json, binary: item.binary, pairedItem: { item: itemIndex } }
		: { json, pairedItem: { item: itemIndex } };
}

export function failedOutput(failures: Failures, itemIndex: number): INodeExecutionData {
	const failure = failures.get(itemIndex)!;
	return failedItem(failure.error, { item: itemIndex }, failure.extra);
}

export const limiterPath = (limiterKey: string, operation?: string): string =>
	`/v1/limiters/${encodeURIComponent(limiterKey)}${operation ? `/${operation}` : ''}`;
