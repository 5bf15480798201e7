import type {
	IDataObject,
	IExecuteFunctions,
	IHttpRequestOptions,
	INode,
	INodeExecutionData,
} from 'n8n-workflow';

export interface MockCall {
	credentialType: string;
	options: IHttpRequestOptions;
}

export interface MockContextOptions {
	/** One set for all items, one per item, or computed per item (stands in for expressions). */
	parameters:
		| Record<string, unknown>
		| Array<Record<string, unknown>>
		| ((itemIndex: number) => Record<string, unknown>);
	items?: INodeExecutionData[];
	continueOnFail?: boolean;
	credentials?: IDataObject;
	/** Plays the service: gets each request, returns the full response or throws a transport error. */
	respond: (
		options: IHttpRequestOptions,
	) => { statusCode: number; body: unknown } | Promise<{ statusCode: number; body: unknown }>;
	/** n8n's node context of this execution (Loop keeps its place there); pass the same object to
	 * the node's next run, a fresh one for a new execution. */
	nodeContext?: IDataObject;
}

/** A minimal IExecuteFunctions: parameters per item, credentials, and a scripted HTTP helper. */
export function mockContext(options: MockContextOptions): {
	ctx: IExecuteFunctions;
	calls: MockCall[];
	customData: Record<string, string>;
} {
	const calls: MockCall[] = [];
	const customData: Record<string, string> = {};
	const node: INode = {
		id: 'node-1',
		name: 'Batch Guardian node',
		type: 'n8n-nodes-batch-guardian.test',
		typeVersion: 1,
		position: [0, 0],
		parameters: {},
	};
	const items = options.items ?? [{ json: {} }];
	const parametersFor = (itemIndex: number): Record<string, unknown> =>
		typeof options.parameters === 'function'
			? options.parameters(itemIndex)
			: Array.isArray(options.parameters)
				? (options.parameters[itemIndex] ?? {})
				: options.parameters;
	const ctx = {
		getInputData: () => items,
		getContext: () => options.nodeContext ?? {},
		getInputSourceData: () => ({
			previousNode: 'Trigger',
			previousNodeOutput: 0,
			previousNodeRun: 0,
		}),
		getNode: () => node,
		getExecutionId: () => 'exec-1',
		getWorkflow: () => ({ id: 'wf-1', name: 'Test workflow', active: false }),
		continueOnFail: () => options.continueOnFail ?? false,
		getNodeParameter: (name: string, itemIndex: number, fallback?: unknown) => {
			const value = name
				.split('.')
				.reduce<unknown>(
					(acc, part) => (acc as IDataObject | undefined)?.[part],
					parametersFor(itemIndex),
				);
			return value === undefined ? fallback : value;
		},
		customData: {
			set: (key: string, value: string) => (customData[key] = value),
			setAll: (all: Record<string, string>) => Object.assign(customData, all),
			get: (key: string) => customData[key],
			getAll: () => ({ ...customData }),
		},
		getCredentials: async () =>
			options.credentials ?? { baseUrl: 'http://service.test:3030/', apiKey: 'k' },
		helpers: {
			httpRequestWithAuthentication: async (
				credentialType: string,
				request: IHttpRequestOptions,
			) => {
				calls.push({ credentialType, options: request });
				return await options.respond(request);
			},
		},
	} as unknown as IExecuteFunctions;
	return { ctx, calls, customData };
}

export function transportFailure(code: string, message: string): Promise<never> {
	const cause = Object.assign(new Error(message), { code });
	return Promise.reject(Object.assign(new Error('Request failed'), { cause }));
}
