import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestMethods,
	IN8nHttpFullResponse,
	INode,
	JsonObject,
} from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { API_KEY_HEADER } from './contract';

export const CREDENTIAL_TYPE = 'batchGuardianApi';

export interface ServiceRequestOptions {
	body?: IDataObject | IDataObject[];
	qs?: IDataObject;
	itemIndex: number;
	/** Milliseconds; long-polling operations pass their own bound plus a margin. */
	timeout?: number;
}

interface ServiceErrorBody {
	error?: { code?: string; message?: string; details?: unknown };
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** One authenticated call to the companion service; every failure becomes a NodeApiError in plain words. */
export async function serviceRequest<T>(
	ctx: IExecuteFunctions,
	method: IHttpRequestMethods,
	path: string,
	options: ServiceRequestOptions,
): Promise<T> {
	const credentials = await ctx.getCredentials<{ baseUrl: string; apiKey: string }>(
		CREDENTIAL_TYPE,
		options.itemIndex,
	);
	const baseUrl = String(credentials.baseUrl ?? '').replace(/\/+$/, '');
	let response: IN8nHttpFullResponse;
	try {
		// The credential has no `authenticate` block (see its file), so the key header is set here.
		response = (await ctx.helpers.httpRequestWithAuthentication.call(ctx, CREDENTIAL_TYPE, {
			method,
			url: `${baseUrl}${path}`,
			headers: { [API_KEY_HEADER]: String(credentials.apiKey ?? '') },
			body: options.body,
			qs: options.qs,
			json: true,
			timeout: options.timeout ?? DEFAULT_TIMEOUT_MS,
			returnFullResponse: true,
			ignoreHttpStatusErrors: true,
		})) as IN8nHttpFullResponse;
	} catch (error) {
		throw transportError(ctx.getNode(), error, baseUrl, options.itemIndex);
	}
	if (response.statusCode >= 400) {
		throw statusError(ctx.getNode(), response, options.itemIndex);
	}
	return response.body as T;
}

function statusError(node: INode, response: IN8nHttpFullResponse, itemIndex: number): NodeApiError {
	const body = (response.body ?? {}) as ServiceErrorBody;
	const status = response.statusCode;
	const serviceMessage = body.error?.message ?? `The service answered HTTP ${status}`;
	const errorBody = { message: serviceMessage, code: body.error?.code ?? null } as JsonObject;
	if (body.error?.details !== undefined) errorBody.details = body.error.details as JsonObject;
	let description = serviceMessage;
	if (status === 401) {
		description =
			"Check the API Key of the 'Batch Guardian API' credential: it must equal the API_KEY the companion service was started with.";
	} else if (status === 429) {
		description = 'The service is shedding load; try again shortly or lower the concurrency.';
	} else if (status >= 500) {
		description = `${serviceMessage}. See the companion service's log for details.`;
	}
	return new NodeApiError(node, errorBody, {
		message: status === 401 ? 'The Batch Guardian service refused the API key' : serviceMessage,
		description,
		httpCode: String(status),
		itemIndex,
	});
}

function transportError(
	node: INode,
	error: unknown,
	baseUrl: string,
	itemIndex: number,
): NodeApiError {
	const text = describe(error);
	let message = `Could not reach the Batch Guardian service at ${baseUrl}`;
	let description = text;
	if (/ECONNREFUSED/.test(text)) {
		description = `Nothing is listening at ${baseUrl}. Start the service (npm run service) or fix the Service URL in the credential.`;
	} else if (/ENOTFOUND|EAI_AGAIN/.test(text)) {
		description = `The host in ${baseUrl} does not resolve. Fix the Service URL in the credential.`;
	} else if (/timeout|ETIMEDOUT|ECONNABORTED/i.test(text)) {
		message = `The Batch Guardian service at ${baseUrl} did not answer in time`;
		description = 'The service may be overloaded or Redis unreachable; check its /ready endpoint.';
	} else if (/Invalid URL|ERR_INVALID_URL/.test(text)) {
		message = `The Service URL '${baseUrl}' is not a valid URL`;
		description = "Set the credential's Service URL to something like http://localhost:3030.";
	}
	return new NodeApiError(node, { message: text } as JsonObject, {
		message,
		description,
		itemIndex,
	});
}

function describe(error: unknown): string {
	const parts: string[] = [];
	let current: unknown = error;
	for (let depth = 0; current && depth < 4; depth++) {
		const e = current as { message?: string; code?: string; cause?: unknown };
		if (e.code) parts.push(e.code);
		if (e.message) parts.push(e.message);
		current = e.cause;
	}
	return parts.join(': ') || String(error);
}
