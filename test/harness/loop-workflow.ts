/**
 * Loop workflows for real n8n (e2e tests and the loop benchmark): Webhook -> Split Out -> a loop
 * whose body POSTs each item to a local sink, with Split Into Chunks -> Loop (ours) or n8n's Loop
 * Over Items. The sink counts each item's deliveries and the loop's Done.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import type { WorkflowJson } from '../../scripts/lib/n8n/api';

export interface LoopSink {
	url: string;
	/** Deliveries per item key, in arrival order. */
	deliveries: Map<string, number>;
	/** Keys in arrival order, with the phase the test set when each arrived. */
	log: Array<{ key: string; phase: string }>;
	/** Bodies POSTed to /done. */
	dones: Array<Record<string, unknown>>;
	phase: string;
	close(): Promise<void>;
}

export async function startLoopSink(): Promise<LoopSink> {
	const sink = {
		deliveries: new Map<string, number>(),
		log: [] as Array<{ key: string; phase: string }>,
		dones: [] as Array<Record<string, unknown>>,
		phase: 'run',
	};
	const server: Server = createServer((req, res) => {
		let body = '';
		req.on('data', (chunk: Buffer) => (body += chunk.toString()));
		req.on('end', () => {
			const json = JSON.parse(body || '{}') as Record<string, unknown>;
			if (req.url === '/done') {
				sink.dones.push(json);
			} else {
				const key = String(json.key);
				sink.deliveries.set(key, (sink.deliveries.get(key) ?? 0) + 1);
				sink.log.push({ key, phase: sink.phase });
			}
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end('{"ok":true}');
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	return Object.assign(sink, {
		url,
		close: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections();
				server.close(() => resolve());
			}),
	});
}

type Node = Record<string, unknown> & { name: string };

const node = (
	name: string,
	type: string,
	typeVersion: number,
	position: [number, number],
	parameters: Record<string, unknown>,
	extra: Record<string, unknown> = {},
): Node => ({ id: randomUUID(), name, type, typeVersion, position, parameters, ...extra });

const post = (name: string, url: string, body: string, position: [number, number]) =>
	node(name, 'n8n-nodes-base.httpRequest', 4.2, position, {
		method: 'POST',
		url,
		sendBody: true,
		specifyBody: 'json',
		jsonBody: body,
		options: {},
	});

const link = (to: string, index = 0) => ({ node: to, type: 'main', index });

/** Webhook { items } (answered at once) -> Split Out: one item each, into the loop. */
const intake = (path: string): Node[] => [
	node(
		'Loop Webhook',
		'n8n-nodes-base.webhook',
		2,
		[0, 0],
		{ httpMethod: 'POST', path, responseMode: 'onReceived', options: {} },
		{ webhookId: randomUUID() },
	),
	node('Split Out Items', 'n8n-nodes-base.splitOut', 1, [220, 0], {
		fieldToSplitOut: 'body.items',
		options: {},
	}),
];

export interface LoopWorkflowOptions {
	name: string;
	path: string;
	sinkUrl: string;
	chunkSize: number;
	/** Ours needs the service credential. */
	credential?: { id: string; name: string };
	/** Ours: no Record Results in the body; the Loop records a chunk when it comes back. */
	recordOnReturn?: boolean;
}

/**
 * Webhook { batchKey, items } -> Split Out -> Split Into Chunks (Loop) -> POST item -> Record
 * Results -> back; Done -> POST /done. Record Results reads the item key through the item's
 * pairing and the chunk's batch, lease and index from its first item (one lookup, not one each).
 */
export function ourLoopWorkflow(options: LoopWorkflowOptions): WorkflowJson {
	const chunk = "$('Split Into Chunks').first().json";
	const nodes: Node[] = [
		...intake(options.path),
		node(
			'Split Into Chunks',
			'n8n-nodes-batch-guardian.splitIntoChunks',
			1,
			[440, 0],
			{
				operation: 'loop',
				batchKey: "={{ $('Loop Webhook').first().json.body.batchKey }}",
				keySource: 'field',
				keyField: 'id',
				options: { chunkSize: options.chunkSize, recordOnReturn: options.recordOnReturn ?? false },
			},
			{ credentials: { batchGuardianApi: options.credential } },
		),
		post(
			'Work Item',
			`${options.sinkUrl}/work`,
			'={{ { key: $json.itemKey, n: $json.n } }}',
			[660, -100],
		),
		node(
			'Record Results',
			'n8n-nodes-batch-guardian.checkpoint',
			1,
			[880, -100],
			{
				operation: 'recordResults',
				batchId: `={{ ${chunk}.batchId }}`,
				itemKey: "={{ $('Split Into Chunks').item.json.itemKey }}",
				lease: `={{ ${chunk}.lease }}`,
				chunkIndex: `={{ ${chunk}.chunkIndex }}`,
				status: 'auto',
				options: {},
			},
			{ credentials: { batchGuardianApi: options.credential } },
		),
		post(
			'Report Done',
			`${options.sinkUrl}/done`,
			'={{ { batchId: $json.batchId, state: $json.state, counts: $json.counts, execution: $execution.id } }}',
			[660, 150],
		),
	];
	const body = options.recordOnReturn
		? { 'Work Item': { main: [[link('Split Into Chunks')]] } }
		: {
				'Work Item': { main: [[link('Record Results')]] },
				'Record Results': { main: [[link('Split Into Chunks')]] },
			};
	return {
		name: options.name,
		nodes: options.recordOnReturn ? nodes.filter((n) => n.name !== 'Record Results') : nodes,
		connections: {
			'Loop Webhook': { main: [[link('Split Out Items')]] },
			'Split Out Items': { main: [[link('Split Into Chunks')]] },
			'Split Into Chunks': { main: [[link('Work Item')], [link('Report Done')]] },
			...body,
		},
		settings: { executionOrder: 'v1' },
	};
}

/** The same with n8n's Loop Over Items (batch size = chunk size): outputs done (0) and loop (1). */
export function loopOverItemsWorkflow(options: LoopWorkflowOptions): WorkflowJson {
	const nodes: Node[] = [
		...intake(options.path),
		node('Loop Over Items', 'n8n-nodes-base.splitInBatches', 3, [440, 0], {
			batchSize: options.chunkSize,
			options: {},
		}),
		post(
			'Work Item',
			`${options.sinkUrl}/work`,
			'={{ { key: $json.id, n: $json.n } }}',
			[660, -100],
		),
		post(
			'Report Done',
			`${options.sinkUrl}/done`,
			'={{ { items: $input.all().length, execution: $execution.id } }}',
			[660, 150],
		),
	];
	return {
		name: options.name,
		nodes: nodes.map((n) => (n.name === 'Report Done' ? { ...n, executeOnce: true } : n)),
		connections: {
			'Loop Webhook': { main: [[link('Split Out Items')]] },
			'Split Out Items': { main: [[link('Loop Over Items')]] },
			'Loop Over Items': { main: [[link('Report Done')], [link('Work Item')]] },
			'Work Item': { main: [[link('Loop Over Items')]] },
		},
		settings: { executionOrder: 'v1' },
	};
}

export const loopItems = (count: number) =>
	Array.from({ length: count }, (_, n) => ({ id: `item-${n}`, n }));
