import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
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
			const failure =
				error instanceof NodeApiError || error instanceof NodeOperationError
					? error
					: new NodeOperationError(this.getNode(), error as Error, { itemIndex });
			if (!this.continueOnFail()) throw failure;
			output.push({ json: errorJson(failure), pairedItem: { item: itemIndex } });
		}
	}
	return output;
}

export function errorJson(error: unknown): IDataObject {
	const e = error as { message?: string; description?: string | null; httpCode?: string | null };
	const json: IDataObject = { error: e.message ?? String(error) };
	if (e.description) json.errorDescription = e.description;
	if (e.httpCode) json.httpCode = e.httpCode;
	return json;
}
