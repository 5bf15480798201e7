import type {
	IDataObject,
	IExecuteFunctions,
	INodeExecutionData,
	IPairedItemData,
} from 'n8n-workflow';
import { NodeApiError, NodeOperationError } from 'n8n-workflow';

export type ItemHandler = (
	this: IExecuteFunctions,
	itemIndex: number,
) => Promise<IDataObject | IDataObject[]>;

/**
 * Runs a handler once per input item, keeping pairedItem and honouring Continue On Fail:
 * a failed item becomes `{ error }` on the output instead of stopping the execution.
 */
export async function runPerItem(
	this: IExecuteFunctions,
	handlers: Record<string, ItemHandler>,
	operationParameter = 'operation',
): Promise<INodeExecutionData[]> {
	const items = this.getInputData();
	const output: INodeExecutionData[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		try {
			const operation = this.getNodeParameter(operationParameter, itemIndex) as string;
			const handler = handlers[operation];
			if (!handler) {
				throw new NodeOperationError(this.getNode(), `Unknown operation '${operation}'`, {
					itemIndex,
					description: `Choose one of: ${Object.keys(handlers).join(', ')}`,
				});
			}
			const result = await handler.call(this, itemIndex);
			for (const json of Array.isArray(result) ? result : [result]) {
				output.push({ json, pairedItem: { item: itemIndex } });
			}
		} catch (error) {
			const failure = asNodeError(this, error, itemIndex);
			if (!this.continueOnFail()) throw failure;
			output.push(failedItem(failure, { item: itemIndex }));
		}
	}
	return output;
}

export type NodeError = NodeApiError | NodeOperationError;

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

/** An operation that takes every input item at once (one service request) and returns outputs. */
export type InputOperation = (this: IExecuteFunctions) => Promise<INodeExecutionData[][]>;

/** Runs the chosen whole-input operation of a node. */
export async function runOperation(
	this: IExecuteFunctions,
	operations: Record<string, InputOperation>,
): Promise<INodeExecutionData[][]> {
	const operation = this.getNodeParameter('operation', 0) as string;
	const run = operations[operation];
	if (!run) {
		throw new NodeOperationError(this.getNode(), `Unknown operation '${operation}'`, {
			description: `Choose one of: ${Object.keys(operations).join(', ')}`,
		});
	}
	return await run.call(this);
}
