import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import { ID_PATTERN } from '../../nodes/shared/contract';
import { templateVersion, workflowHash } from '../../scripts/lib/workflows';

const load = (file: string) =>
	JSON.parse(readFileSync(join(__dirname, '../../workflows', file), 'utf8')) as {
		name: string;
		meta?: { templateVersion?: number };
		nodes: Node[];
		connections: Record<string, { main: Array<Array<{ node: string; index: number }>> }>;
	};

type Node = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { name: string }>;
	onError?: string;
};

/** The credential names npm start creates, by type. */
const LOCAL_CREDENTIALS: Record<string, string> = {
	batchGuardianApi: 'Batch Guardian (local)',
	smtp: 'Local SMTP (maildev)',
	httpHeaderAuth: 'Batch Guardian dispatch secret',
};

const FILES = [
	'email-campaign-intake.json',
	'email-campaign-worker.json',
	'email-campaign-status.json',
];

describe.each(FILES)('e-mail template %s', (file) => {
	const workflow = load(file);
	const names = new Set(workflow.nodes.map((node) => node.name));

	it('connects only nodes it has, and carries a template version', () => {
		for (const [from, { main }] of Object.entries(workflow.connections)) {
			expect(names).toContain(from);
			for (const target of main.flat()) expect(names).toContain(target.node);
		}
		expect(workflow.meta?.templateVersion).toBe(templateVersion(workflow as never));
	});

	it('names every credential as npm start creates it', () => {
		const used = workflow.nodes.flatMap((node) => Object.entries(node.credentials ?? {}));
		expect(used.length).toBeGreaterThan(0);
		for (const [type, ref] of used) expect(ref.name).toBe(LOCAL_CREDENTIALS[type]);
	});
});

describe.each(readdirSync(join(__dirname, '../../workflows')).filter((f) => f.endsWith('.json')))(
	'sticky notes of template %s',
	(file) => {
		const workflow = load(file);
		const notes = workflow.nodes
			.filter((node) => node.type === 'n8n-nodes-base.stickyNote')
			.map((node) => String(node.parameters.content));

		it("has sticky notes in n8n 2.x's words, with the production URL of each webhook", () => {
			expect(notes.length).toBeGreaterThan(0);
			const text = notes.join('\n');
			expect(text).toMatch(/\bPublish/);
			expect(text).not.toMatch(/\bactivat/i);
			for (const node of workflow.nodes.filter((n) => n.type === 'n8n-nodes-base.webhook')) {
				expect(text).toContain(`http://localhost:5678/webhook/${String(node.parameters.path)}`);
			}
		});
	},
);

describe('the e-mail worker template', () => {
	const worker = load('email-campaign-worker.json');
	const targets = (from: string) =>
		worker.connections[from].main.map((branch) => branch.map((c) => `${c.node}#${c.index}`));

	it('checks the dispatch secret with Header Auth', () => {
		const webhook = worker.nodes.find((node) => node.type === 'n8n-nodes-base.webhook');
		expect(webhook?.parameters).toMatchObject({
			authentication: 'headerAuth',
			responseMode: 'lastNode',
		});
	});

	it('limits by one relay key and one key per recipient domain, before sending', () => {
		expect(targets('Checkpoint Claim')).toEqual([['Relay Limit#0'], ['Already Done#0']]);
		expect(targets('Relay Limit')).toEqual([['Domain Limit#0'], ['Collect Outcomes#0']]);
		expect(targets('Domain Limit')).toEqual([['Send Email#0'], ['Collect Outcomes#1']]);
		const keys = worker.nodes
			.filter((node) => node.type.endsWith('.rateLimit'))
			.map((node) => node.parameters.limiterKey);
		// The domain's key is composed in one pass per chunk; Domain Limit reads it as a field.
		expect(keys).toEqual(['smtp-relay', '={{ $json.json.domainLimiterKey }}']);
		expect(targets('Split Out Recipients')).toEqual([['Recipient Domains#0']]);
		expect(targets('Recipient Domains')).toEqual([['Checkpoint Claim#0']]);
	});

	it("composes each recipient's domain limiter key in one pass, as Domain Limit reads it", () => {
		const code = worker.nodes.find((node) => node.name === 'Recipient Domains');
		expect(code?.type).toBe('n8n-nodes-base.code');
		const run = new Function('$input', String(code?.parameters.jsCode)) as (input: {
			all(): Array<{ json: Record<string, unknown> }>;
		}) => Array<{ json: { key: string; json: Record<string, unknown> } }>;
		const items = [
			{ json: { key: 'k1', json: { email: 'Ann@Example.COM ', subject: 's' } } },
			{ json: { key: 'k2', json: { email: 'no-at-sign' } } },
			{ json: { key: 'k3', json: {} } },
			{ json: { key: 'k4', json: { email: 'x@exa mple/é.com' } } },
		];
		const out = run({ all: () => items });
		expect(out.map((item) => item.json.json.domainLimiterKey)).toEqual([
			'smtp-domain-example.com',
			'smtp-domain-no-at-sign',
			'smtp-domain-none',
			'smtp-domain-exa_mple__.com',
		]);
		for (const item of out) expect(item.json.json.domainLimiterKey).toMatch(ID_PATTERN);
		expect(out[0].json).toMatchObject({ key: 'k1', json: { subject: 's' } });
	});

	it('gathers every outcome into one Record Results per execution', () => {
		const send = worker.nodes.find((node) => node.name === 'Send Email');
		expect(send?.type).toBe('n8n-nodes-base.emailSend');
		expect(send?.onError).toBe('continueErrorOutput');
		expect(targets('Send Email')).toEqual([['Collect Outcomes#2'], ['Collect Outcomes#3']]);
		const merge = worker.nodes.find((node) => node.name === 'Collect Outcomes');
		expect(merge?.parameters).toMatchObject({ numberInputs: 4 });
		expect(targets('Collect Outcomes')).toEqual([['Checkpoint Record Results#0']]);
		const into = Object.values(worker.connections)
			.flatMap(({ main }) => main.flat())
			.filter((c) => c.node === 'Checkpoint Record Results');
		expect(into).toHaveLength(1);
	});
});

describe('the e-mail intake template', () => {
	const intake = load('email-campaign-intake.json');
	const split = intake.nodes.find((node) => node.type.endsWith('.splitIntoChunks'));

	it('submits with the lower-cased address as key, in-doubt hold and its own resume URL as completion URL', () => {
		expect(split?.parameters).toMatchObject({ keySource: 'field', keyField: 'email' });
		const options = split?.parameters.options as Record<string, unknown>;
		expect(options).toMatchObject({
			hashKeys: true,
			inDoubt: 'hold',
			completionUrl: '={{ $execution.resumeUrl }}',
		});
		expect(options.limiterKey).toBeDefined();
		const prepare = intake.nodes.find((node) => node.name === 'Prepare Recipients');
		expect(JSON.stringify(prepare?.parameters)).toContain('.trim().toLowerCase()');
	});

	it('answers the caller before it waits for the campaign to end', () => {
		const order = ['Split Into Chunks', 'Answer With Batch', 'Wait for Campaign End'];
		expect(intake.connections[order[0]].main[0][0].node).toBe(order[1]);
		expect(intake.connections[order[1]].main[0][0].node).toBe(order[2]);
		const wait = intake.nodes.find((node) => node.name === order[2]);
		expect(wait?.parameters).toMatchObject({ resume: 'webhook', httpMethod: 'POST' });
	});
});

describe('workflowHash: what counts as a change of a workflow', () => {
	const base = load('email-campaign-status.json');
	const copy = () => JSON.parse(JSON.stringify(base)) as typeof base;

	it('ignores node order and key order, not a changed parameter', () => {
		const reordered = copy();
		reordered.nodes.reverse();
		reordered.nodes[0] = Object.fromEntries(Object.entries(reordered.nodes[0]).reverse()) as Node;
		expect(workflowHash(reordered as never)).toBe(workflowHash(base as never));
		const edited = copy();
		edited.nodes[1].parameters.path = 'my-status';
		expect(workflowHash(edited as never)).not.toBe(workflowHash(base as never));
	});
});
