import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { pageId } from '../../../shared/contract';
import { serviceRequest } from '../../../shared/transport';
import type { BatchItem } from './pages';
import { batchPath } from './submit';

/**
 * Ranges: chunk descriptors instead of data, for sources read page by page.
 *   offset      `{ chunkIndex, offset, limit }` for a known total
 *   keyset      `{ chunkIndex, afterKey, lastKey, limit }` from the last key of each range, each
 *               range starting after the previous range's last key
 *   untilShort  `{ chunkIndex, offset, limit, afterKey }` one page at a time (a Loop): afterKey is
 *               the last key of the page before, until a page comes back short
 */
export type Paging = 'offset' | 'keyset' | 'untilShort';
export type Key = string | number;

export interface RangePlan extends IDataObject {
	paging: Paging;
	limit: number;
	/** untilShort: the field of the rows coming back whose last value starts the next page. */
	keyField: string;
	/** Fields added to every descriptor (e.g. the time window of an incremental copy). */
	extra: IDataObject;
}

/** More descriptors than this is a mistake (a range size of 1?), not a plan. */
export const MAX_RANGES = 100_000;

export const rangeKey = (index: number) => `range-${index}`;

const descriptorItem = (json: IDataObject): BatchItem => ({
	key: rangeKey(json.chunkIndex as number),
	json,
});

export function offsetRanges(total: number, plan: RangePlan): BatchItem[] {
	const count = Math.ceil(total / plan.limit);
	return Array.from({ length: count }, (_, index) =>
		descriptorItem({
			...plan.extra,
			chunkIndex: index,
			offset: index * plan.limit,
			limit: Math.min(plan.limit, total - index * plan.limit),
		}),
	);
}

export function keysetRanges(lastKeys: Key[], startAfter: Key | null, plan: RangePlan) {
	return lastKeys.map((lastKey, index) =>
		descriptorItem({
			...plan.extra,
			chunkIndex: index,
			afterKey: index === 0 ? startAfter : lastKeys[index - 1],
			lastKey,
			limit: plan.limit,
		}),
	);
}

export function firstPage(startAfter: Key | null, plan: RangePlan): BatchItem {
	return descriptorItem({
		...plan.extra,
		chunkIndex: 0,
		offset: 0,
		limit: plan.limit,
		afterKey: startAfter,
	});
}

/** A range bound: text or a number, as a key column gives it. */
export function readKey(
	ctx: IExecuteFunctions,
	value: unknown,
	label: string,
	itemIndex = 0,
): Key | null {
	if (value === undefined || value === null || value === '') return null;
	if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
		return value;
	}
	if (typeof value === 'bigint') return String(value);
	throw new NodeOperationError(
		ctx.getNode(),
		`'${label}' must be text or a number, got ${JSON.stringify(value)?.slice(0, 60)}`,
		{ itemIndex },
	);
}

/** The last keys of the ranges, in key order, from a list (e.g. a query's array_agg). */
export function readLastKeys(ctx: IExecuteFunctions, value: unknown): Key[] {
	const list = typeof value === 'string' ? parseList(value) : value;
	if (!Array.isArray(list)) {
		throw new NodeOperationError(
			ctx.getNode(),
			`'Last Keys of the Ranges' must be a list, got ${JSON.stringify(value)?.slice(0, 60)}`,
			{
				itemIndex: 0,
				description:
					'Give the last key of each range in key order, e.g. from PostgreSQL: SELECT array_agg(id ORDER BY id) AS "lastKeys" FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM source) s WHERE n % 1000 = 0 OR n = (SELECT count(*) FROM source)',
			},
		);
	}
	if (list.length > MAX_RANGES) throw tooMany(ctx, list.length);
	return list.map((key, index) => {
		const read = readKey(ctx, key, `Last Keys of the Ranges [${index}]`);
		if (read === null) {
			throw new NodeOperationError(ctx.getNode(), `'Last Keys of the Ranges' [${index}] is empty`, {
				itemIndex: 0,
			});
		}
		return read;
	});
}

function parseList(text: string): unknown {
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

export const tooMany = (ctx: IExecuteFunctions, count: number) =>
	new NodeOperationError(ctx.getNode(), `${count} ranges are more than ${MAX_RANGES}`, {
		itemIndex: 0,
		description: 'Raise the Range Size so fewer, larger ranges cover the source.',
	});

/**
 * Until a page comes back short: what the body handed back decides what comes next. Rows are the
 * items carrying the key field (an empty item, from Always Output Data on an empty page, is no
 * row); the last one's key starts the next page.
 */
export function pageResult(
	ctx: IExecuteFunctions,
	items: INodeExecutionData[],
	plan: RangePlan,
): { rows: number; lastKey: Key | null } {
	const rows = items.filter(({ json }) =>
		plan.keyField
			? json[plan.keyField] !== undefined && json[plan.keyField] !== null
			: Object.keys(json).length > 0,
	);
	const last = rows[rows.length - 1];
	const lastKey =
		plan.keyField && last ? readKey(ctx, last.json[plan.keyField], plan.keyField) : null;
	return { rows: rows.length, lastKey };
}

/**
 * Appends the next page's descriptor. It inherits the fields of the page before (which came from
 * the service, i.e. from the first run's plan), so a resumed run goes on with the same window.
 * Its offset moves by the rows the page had, not by the limit asked: a source that returns fewer
 * (an API capping its pages) skips nothing. Its page id makes a re-send (after a crash) count once.
 */
export async function appendPage(
	ctx: IExecuteFunctions,
	batchId: string,
	previous: IDataObject,
	page: { rows: number; lastKey: Key | null },
	plan: RangePlan,
): Promise<IDataObject> {
	const index = (previous.chunkIndex as number) + 1;
	const lastKey = page.lastKey;
	const json: IDataObject = {
		...previous,
		chunkIndex: index,
		offset: (previous.offset as number) + page.rows,
		limit: plan.limit,
		afterKey: lastKey ?? (previous.afterKey as Key | null) ?? null,
	};
	const item = descriptorItem(json);
	await serviceRequest(ctx, 'POST', batchPath(batchId, 'items'), {
		body: { pageId: pageId(index, [item.key]), items: [item] },
		itemIndex: 0,
	});
	return json;
}
