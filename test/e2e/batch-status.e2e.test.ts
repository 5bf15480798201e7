import type { N8nApi } from '../../scripts/lib/n8n/api';
import { getStack, n8nClient, seedBatch, unique, webhookChain, type NodeSpec } from './helpers';

const NODE_TYPE = 'n8n-nodes-batch-guardian.batchStatus';
const CREDENTIAL_TYPE = 'batchGuardianApi';
/** Per test, not in the jest config: testTimeout is a global option, not a per-project one. */
const TIMEOUT_MS = 120_000;

interface NodeOutput {
	batchId?: string;
	state?: string;
	percent?: number;
	counts?: Record<string, number>;
	error?: string;
}

describe('Batch Status node in a real n8n', () => {
	let n8n: N8nApi;
	let goodCredential: { id: string; name: string };
	let badCredential: { id: string; name: string };

	const statusNode = (
		credential: { id: string; name: string },
		onError?: NodeSpec['onError'],
	): NodeSpec => ({
		name: 'Batch Status',
		type: NODE_TYPE,
		typeVersion: 1,
		parameters: { operation: 'get', batchId: '={{ $json.body.batchId }}' },
		credentials: { [CREDENTIAL_TYPE]: credential },
		...(onError ? { onError } : {}),
	});

	/** Imports and activates Webhook -> Batch Status; returns its id and webhook path. */
	async function deploy(credential: { id: string; name: string }, onError?: NodeSpec['onError']) {
		const path = unique('batch-status');
		const workflow = webhookChain(unique('e2e batch status'), path, [
			statusNode(credential, onError),
		]);
		return { path, id: await n8n.createAndActivate(workflow) };
	}

	beforeAll(async () => {
		const stack = getStack();
		n8n = n8nClient();
		await n8n.login();
		const create = async (name: string, apiKey: string) => ({
			name,
			id: await n8n.createCredential({
				name,
				type: CREDENTIAL_TYPE,
				data: { baseUrl: stack.service.url, apiKey },
			}),
		});
		goodCredential = await create(unique('Batch Guardian e2e'), stack.service.apiKey);
		badCredential = await create(unique('Batch Guardian wrong key'), 'not-the-key-0123456789');
	}, TIMEOUT_MS);

	it(
		'is installed from the packed package and listed by n8n',
		async () => {
			expect(await n8n.nodeTypes()).toContain(NODE_TYPE);
		},
		TIMEOUT_MS,
	);

	it(
		'reports an unknown batch with the service message when Continue On Fail is on',
		async () => {
			const { path, id } = await deploy(goodCredential, 'continueRegularOutput');
			const batchId = unique('no-such-batch');

			const answer = await n8n.callWebhook<NodeOutput>(path, { batchId });

			expect(answer.status).toBe(200);
			// Only `error`: n8n 2.41 rewrites the json of an item that carries `.error` to
			// { error: message } (normalizeNodeErrors), so extra fields do not reach the answer.
			expect(answer.body.error).toContain(`No batch '${batchId}'`);
			const execution = await n8n.waitForExecution(id, (e) => e.status === 'success');
			const output = execution.data?.resultData.runData['Batch Status'][0] as {
				data: { main: Array<Array<{ json: NodeOutput }>> };
			};
			expect(output.data.main[0][0].json.error).toContain(batchId);
		},
		TIMEOUT_MS,
	);

	it(
		'returns the progress of an existing batch',
		async () => {
			const { path, id } = await deploy(goodCredential);
			const batchId = unique('seeded');
			const now = new Date().toISOString();
			await seedBatch(batchId, {
				state: 'running',
				total: 10,
				succeeded: 4,
				skipped: 1,
				deadLettered: 0,
				createdAt: now,
				updatedAt: now,
			});

			const answer = await n8n.callWebhook<NodeOutput>(path, { batchId });

			expect(answer.status).toBe(200);
			expect(answer.body).toMatchObject({
				batchId,
				state: 'running',
				percent: 50,
				counts: { total: 10, succeeded: 4, skipped: 1, deadLettered: 0 },
			});
			await n8n.waitForExecution(id, (e) => e.status === 'success');
		},
		TIMEOUT_MS,
	);

	it(
		'fails with an error naming the API key when the credential holds a wrong key',
		async () => {
			const { path, id } = await deploy(badCredential);

			const answer = await n8n.callWebhook(path, { batchId: unique('any') });

			expect(answer.status).toBeGreaterThanOrEqual(400);
			const execution = await n8n.waitForExecution(id, (e) => e.status === 'error');
			const error = execution.data?.resultData.error;
			expect(error?.message).toMatch(/API key/i);
			expect(`${error?.message} ${error?.description}`).toMatch(/API[ _]KEY/i);
		},
		TIMEOUT_MS,
	);

	it(
		'answers with the key error on the item when Continue On Fail is on',
		async () => {
			const { path } = await deploy(badCredential, 'continueRegularOutput');

			const answer = await n8n.callWebhook<NodeOutput>(path, { batchId: unique('any') });

			expect(answer.status).toBe(200);
			expect(answer.body.error).toMatch(/API key/i);
		},
		TIMEOUT_MS,
	);
});
