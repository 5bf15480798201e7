import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = join(__dirname, '../../../workflows');
const load = (file: string) => JSON.parse(readFileSync(join(dir, file), 'utf8'));

type Node = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { name: string }>;
	onError?: string;
};
type Connections = Record<string, { main: Array<Array<{ node: string }>> }>;

describe.each(['batch-intake.json', 'batch-worker.json', 'checkpoint-mode.json'])(
	'workflow template %s',
	(file) => {
		const workflow = load(file) as { name: string; nodes: Node[]; connections: Connections };
		const names = new Set(workflow.nodes.map((node) => node.name));

		it('connects only nodes it has', () => {
			for (const [from, { main }] of Object.entries(workflow.connections)) {
				expect(names).toContain(from);
				for (const target of main.flat()) expect(names).toContain(target.node);
			}
		});

		it('references our credential by the name npm start creates', () => {
			const ours = workflow.nodes.filter((node) =>
				node.type.startsWith('n8n-nodes-batch-guardian.'),
			);
			expect(ours.length).toBeGreaterThan(0);
			for (const node of ours) {
				expect(node.credentials?.batchGuardianApi?.name).toBe('Batch Guardian (local)');
			}
		});

		it('tells a newcomer what to set, and answers its webhook when the work is done', () => {
			expect(workflow.nodes.some((node) => node.type === 'n8n-nodes-base.stickyNote')).toBe(true);
			const webhook = workflow.nodes.find((node) => node.type === 'n8n-nodes-base.webhook');
			expect(webhook?.parameters).toMatchObject({ httpMethod: 'POST', responseMode: 'lastNode' });
		});
	},
);

describe('the worker template', () => {
	const worker = load('batch-worker.json') as { nodes: Node[]; connections: Connections };

	it('sends failures of the work to Record Results through the error output', () => {
		expect(worker.nodes.find((node) => node.name === 'Send Item')?.onError).toBe(
			'continueErrorOutput',
		);
		const outputs = worker.connections['Send Item'].main.map((branch) => branch.map((c) => c.node));
		expect(outputs).toEqual([['Checkpoint Record Results'], ['Checkpoint Record Results']]);
	});

	it('claims before the work and ends skipped items on a node, so the webhook still answers', () => {
		const claim = worker.connections['Checkpoint Claim'].main.map((branch) =>
			branch.map((c) => c.node),
		);
		expect(claim).toEqual([['Send Item'], ['Already Done']]);
	});
});
