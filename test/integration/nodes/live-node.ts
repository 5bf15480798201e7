import type {
	IDataObject,
	IHttpRequestOptions,
	INodeExecutionData,
	VersionedNodeType,
} from 'n8n-workflow';

import { Checkpoint } from '../../../nodes/Checkpoint/Checkpoint.node';
import { SplitIntoChunks } from '../../../nodes/SplitIntoChunks/SplitIntoChunks.node';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import { mockContext } from '../../unit/nodes/mock-context';
import { serveApp } from '../batches/helpers';

/**
 * Our nodes' operations run against the real service (its HTTP app on a real port, real Redis):
 * only n8n's side is played, by the unit tests' context (parameters given, not evaluated).
 */
export interface LiveService {
	service: TestService;
	url: string;
	run(node: VersionedNodeType, run: NodeRun): Promise<INodeExecutionData[][]>;
	close(): Promise<void>;
}

export interface NodeRun {
	parameters: Record<string, unknown> | ((itemIndex: number) => Record<string, unknown>);
	items: INodeExecutionData[];
	/** The node context of one execution: the same object across the node's runs in it. */
	nodeContext?: IDataObject;
	continueOnFail?: boolean;
}

export const splitIntoChunks = new SplitIntoChunks();
export const checkpoint = new Checkpoint();

/** `dispatcher`: the service also POSTs chunks to worker URLs (Submit Batch with a target). */
export async function liveService(options: { dispatcher?: boolean } = {}): Promise<LiveService> {
	const service = createTestService({}, { dispatcher: options.dispatcher });
	const served = await serveApp(service.app);
	const respond = async (req: IHttpRequestOptions) => {
		const url = new URL(String(req.url));
		for (const [name, value] of Object.entries(req.qs ?? {}))
			url.searchParams.set(name, String(value));
		const response = await fetch(url, {
			method: req.method,
			headers: { 'content-type': 'application/json', ...(req.headers as Record<string, string>) },
			body: req.body === undefined ? undefined : JSON.stringify(req.body),
		});
		const text = await response.text();
		return { statusCode: response.status, body: text ? JSON.parse(text) : undefined };
	};
	return {
		service,
		url: served.url,
		async run(node, { parameters, items, nodeContext, continueOnFail }) {
			const { ctx } = mockContext({
				parameters,
				items,
				nodeContext,
				continueOnFail,
				credentials: { baseUrl: served.url, apiKey: TEST_API_KEY },
				respond,
			});
			return (await node.nodeVersions[1].execute!.call(ctx)) as INodeExecutionData[][];
		},
		async close() {
			await served.close();
			await service.cleanup();
		},
	};
}

/** The loop body's last step: Checkpoint Record Results on what the loop handed out. */
export async function recordResults(
	live: LiveService,
	items: INodeExecutionData[],
	status = 'auto',
): Promise<INodeExecutionData[]> {
	const [recorded] = await live.run(checkpoint, {
		items,
		parameters: (i) => ({
			operation: 'recordResults',
			batchId: items[i].json.batchId,
			itemKey: items[i].json.itemKey,
			lease: items[i].json.lease,
			chunkIndex: items[i].json.chunkIndex,
			status,
			options: {},
		}),
	});
	return recorded;
}

export const keysOf = (items: INodeExecutionData[]) =>
	items.map((item) => String(item.json.itemKey));
