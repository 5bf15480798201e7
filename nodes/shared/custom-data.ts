import type { IExecuteFunctions, IWorkflowExecutionCustomData } from 'n8n-workflow';

import { digest } from './contract';

/** n8n caps custom data values at 255 characters; longer ones would fail the execution. */
const MAX_VALUE_LENGTH = 255;

/**
 * Writes execution custom data (e.g. batchId, chunkIndex) so the n8n Executions list can filter
 * a batch's runs. Best effort: a context without custom data (manual runs in old n8n, tests)
 * must not fail the node.
 */
export function setExecutionCustomData(
	ctx: IExecuteFunctions,
	entries: Record<string, string | number | undefined>,
): void {
	const customData = resolveCustomData(ctx);
	if (!customData) return;
	for (const [key, value] of Object.entries(entries)) {
		if (value === undefined || value === '') continue;
		try {
			customData.set(key, String(value).slice(0, MAX_VALUE_LENGTH));
		} catch (error) {
			ctx.logger?.debug(`Could not set execution custom data '${key}': ${String(error)}`);
		}
	}
}

function resolveCustomData(ctx: IExecuteFunctions): IWorkflowExecutionCustomData | undefined {
	try {
		// n8n-workflow 2.x exposes it on the context; older runtimes only through $execution.
		if (ctx.customData) return ctx.customData;
	} catch {
		// The getter throws when the execution has no run data; try the data proxy instead.
	}
	try {
		return ctx.getWorkflowDataProxy(0).$execution?.customData as
			IWorkflowExecutionCustomData | undefined;
	} catch {
		return undefined;
	}
}

/** This execution and its workflow, sent with Claim and Record Results so the service can link
 * chunks to the executions that worked them. Undefined where the context has no ids (tests). */
export function executionRef(
	ctx: IExecuteFunctions,
): { id: string; workflowId: string } | undefined {
	try {
		const id = String(ctx.getExecutionId() ?? '');
		const workflowId = String(ctx.getWorkflow().id ?? '');
		return id && workflowId ? { id, workflowId } : undefined;
	} catch {
		return undefined;
	}
}

/**
 * Names one Claim request: the same execution, run of this node and keys give the same id, so a
 * Claim that n8n's Retry On Fail sends again (its answer lost) gets the same items back instead of
 * finding them leased by itself. Undefined where the context has no execution id.
 */
export function claimId(ctx: IExecuteFunctions, keys: string[]): string | undefined {
	const execution = executionRef(ctx);
	if (!execution) return undefined;
	let runIndex = 0;
	try {
		runIndex = Number(ctx.getWorkflowDataProxy(0).$runIndex) || 0;
	} catch {
		// No data proxy (tests): the first run.
	}
	return `${execution.id}.${runIndex}.${digest(`${ctx.getNode().name}\n${keys.join('\n')}`)}`;
}
