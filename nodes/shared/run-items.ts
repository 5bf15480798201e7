import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IPairedItemData,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

/**
 * The one way every operation works: read and check every input item, group the good ones
 * (usually one group per batch or limiter key), make one service request per group, and put
 * the outputs back in input order, each paired with its input item.
 */

/** What became of one input item. */
export type ItemOutcome =
	/** The input item passes on unchanged (json and binary), with `add` merged into its json. */
	| { output?: number; add?: IDataObject }
	/** New items in its place, e.g. the service's answer; several for a list. */
	| { output?: number; json: IDataObject | IDataObject[] }
	/** The item failed: its error entry under Continue On Fail, otherwise the node stops. */
	| { error: unknown; add?: IDataObject };

/** One output entry for the whole group, paired with every item in it (Submit Batch's summary). */
export interface GroupSummary {
	summary: IDataObject;
	output?: number;
}

/** Every item read by an operation knows where it came from. */
export interface ReadItem {
	itemIndex: number;
}

export interface ItemOperation<T extends ReadItem> {
	/** Number of outputs of the node for this operation. @defaultValue 1 */
	outputs?: number;
	/** The output that receives failed items under Continue On Fail. @defaultValue 0 */
	errorOutput?: number;
	/** Reads and checks one item's parameters; throws naming the item. No request is made here. */
	read(this: IExecuteFunctions, itemIndex: number): T;
	/** Items with the same group id share one request. @defaultValue one group for all items */
	groupBy?: (item: T) => string;
	/** Handles one group: an outcome per item, in group order, or one summary for the group. */
	run(this: IExecuteFunctions, group: T[]): Promise<ItemOutcome[] | GroupSummary>;
}

export type NodeError = NodeApiError | NodeOperationError;

/** Runs an operation over the input items: read all, then one `run` per group, outputs in order. */
export async function runItems<T extends ReadItem>(
	ctx: IExecuteFunctions,
	operation: ItemOperation<T>,
): Promise<INodeExecutionData[][]> {
	const input = ctx.getInputData();
	const outputs = operation.outputs ?? 1;
	// Per output, per input item: the entries it produced. Flattened at the end, so order is kept.
	const slots: INodeExecutionData[][][] = Array.from({ length: outputs }, () => []);
	const put = (output: number, itemIndex: number, entries: INodeExecutionData[]) => {
		const slot = (slots[output][itemIndex] ??= []);
		slot.push(...entries);
	};
	const fail = (itemIndex: number, error: unknown, add?: IDataObject) => {
		const failure = asNodeError(ctx, error, itemIndex);
		if (!ctx.continueOnFail()) throw failure;
		const json = { ...input[itemIndex].json, ...add };
		put(operation.errorOutput ?? 0, itemIndex, [failedItem(failure, { item: itemIndex }, json)]);
	};

	// Every item is checked before the first request: bad input never leaves half-done work.
	const groups = new Map<string, T[]>();
	for (let itemIndex = 0; itemIndex < input.length; itemIndex++) {
		let item: T;
		try {
			item = operation.read.call(ctx, itemIndex);
		} catch (error) {
			fail(itemIndex, error);
			continue;
		}
		const id = operation.groupBy?.(item) ?? '';
		const group = groups.get(id);
		if (group) group.push(item);
		else groups.set(id, [item]);
	}

	for (const group of groups.values()) {
		let result: ItemOutcome[] | GroupSummary;
		try {
			result = await operation.run.call(ctx, group);
		} catch (error) {
			for (const { itemIndex } of group) fail(itemIndex, error);
			continue;
		}
		if (!Array.isArray(result)) {
			const pairedItem = group.map(({ itemIndex }) => ({ item: itemIndex }));
			put(result.output ?? 0, group[0].itemIndex, [{ json: result.summary, pairedItem }]);
			continue;
		}
		group.forEach(({ itemIndex }, position) => {
			const outcome = result[position];
			if (outcome === undefined) {
				fail(itemIndex, new Error(`No outcome for item ${itemIndex}`));
			} else if ('error' in outcome) {
				fail(itemIndex, outcome.error, outcome.add);
			} else if ('json' in outcome) {
				const list = Array.isArray(outcome.json) ? outcome.json : [outcome.json];
				put(
					outcome.output ?? 0,
					itemIndex,
					list.map((json) => ({ json, pairedItem: { item: itemIndex } })),
				);
			} else {
				put(outcome.output ?? 0, itemIndex, [passItem(input[itemIndex], itemIndex, outcome.add)]);
			}
		});
	}
	return slots.map((slot) => slot.flat());
}

/**
 * One request per input item (Batch Status): each item its own group, so every item is still
 * checked before the first request and outputs keep input order.
 */
export async function runPerItem<T extends ReadItem>(
	ctx: IExecuteFunctions,
	read: (this: IExecuteFunctions, itemIndex: number) => T,
	request: (this: IExecuteFunctions, item: T) => Promise<IDataObject | IDataObject[]>,
): Promise<INodeExecutionData[][]> {
	return await runItems(ctx, {
		read,
		groupBy: ({ itemIndex }) => String(itemIndex),
		async run([item]) {
			return [{ json: await request.call(this, item) }];
		},
	});
}

/** Keeps n8n's own errors as they are and wraps anything else with the item it belongs to. */
export function asNodeError(ctx: IExecuteFunctions, error: unknown, itemIndex: number): NodeError {
	return error instanceof NodeApiError || error instanceof NodeOperationError
		? error
		: new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
}

/**
 * The output entry of a failed item under Continue On Fail. The `error` on the entry (not only in
 * json) is what lets n8n move it to the error output when On Error is "continue (error output)".
 */
export function failedItem(
	error: NodeError,
	pairedItem: IPairedItemData | IPairedItemData[],
	extra: IDataObject = {},
): INodeExecutionData {
	return { json: { ...extra, ...errorJson(error) }, error, pairedItem };
}

export function errorJson(error: unknown): IDataObject {
	const e = error as { message?: string; description?: string | null; httpCode?: string | null };
	const json: IDataObject = { error: e.message ?? String(error) };
	if (e.description) json.errorDescription = e.description;
	if (e.httpCode) json.httpCode = e.httpCode;
	return json;
}

/** The input item unchanged (json and binary), paired with itself; `add` fields merged into json. */
export function passItem(
	item: INodeExecutionData,
	itemIndex: number,
	add?: IDataObject,
): INodeExecutionData {
	const json = add ? { ...item.json, ...add } : item.json;
	return item.binary
		? { json, binary: item.binary, pairedItem: { item: itemIndex } }
		: { json, pairedItem: { item: itemIndex } };
}
