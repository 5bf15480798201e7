import type { IDataObject } from 'n8n-workflow';

import { SplitIntoChunks } from '../../../nodes/SplitIntoChunks/SplitIntoChunks.node';
import { fakeBatchService } from './fake-service';
import { mockContext, type MockContextOptions } from './mock-context';

/** Shared by the Split Into Chunks suites: parameters, items and a run against the fake service. */

export const node = new SplitIntoChunks();
export const v1 = node.nodeVersions[1];

export type Output = Array<
	Array<{ json: Record<string, unknown>; pairedItem?: unknown; error?: unknown }>
>;

export const submit = (extra: Record<string, unknown> = {}) => ({
	operation: 'submitBatch',
	batchKey: 'campaign-1',
	targetUrl: 'http://127.0.0.1:5678/webhook/worker',
	keySource: 'field',
	keyField: 'id',
	options: {},
	...extra,
});

export const items = (
	count: number,
	make: (i: number) => IDataObject = (i) => ({ id: `r${i}`, n: i }),
) => Array.from({ length: count }, (_, i) => ({ json: make(i) }));

export async function run(
	options: Partial<MockContextOptions> & { items: MockContextOptions['items'] },
) {
	const service = fakeBatchService();
	const context = mockContext({ parameters: submit(), respond: service.respond, ...options });
	const output = (await v1.execute!.call(context.ctx)) as Output;
	return { output, service, ...context };
}
