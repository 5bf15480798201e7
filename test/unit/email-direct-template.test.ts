import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { templateVersion } from '../../scripts/lib/workflows';

type Node = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { name: string }>;
};
const workflow = JSON.parse(
	readFileSync(join(__dirname, '../../workflows/email-campaign-direct.json'), 'utf8'),
) as {
	meta?: { templateVersion?: number };
	nodes: Node[];
	connections: Record<string, { main: Array<Array<{ node: string }>> }>;
};
const node = (name: string) => workflow.nodes.find((n) => n.name === name);

describe('the direct-delivery e-mail template', () => {
	it('connects only nodes it has and carries a template version', () => {
		const names = new Set(workflow.nodes.map((n) => n.name));
		for (const [from, { main }] of Object.entries(workflow.connections)) {
			expect(names).toContain(from);
			for (const target of main.flat()) expect(names).toContain(target.node);
		}
		expect(workflow.meta?.templateVersion).toBe(templateVersion(workflow as never));
	});

	it('submits with Direct SMTP delivery, the lower-cased address as key, in-doubt hold and its resume URL', () => {
		const split = node('Split Into Chunks');
		expect(split?.parameters).toMatchObject({
			delivery: 'smtp',
			smtpTransport: expect.stringContaining("|| 'local'"),
			keySource: 'field',
			keyField: 'to',
		});
		expect(split?.parameters.targetUrl).toBeUndefined();
		expect(split?.parameters.options).toMatchObject({
			hashKeys: true,
			inDoubt: 'hold',
			completionUrl: '={{ $execution.resumeUrl }}',
		});
		const compose = String(node('Compose E-mails')?.parameters.jsCode);
		expect(compose).toContain('.trim().toLowerCase()');
		for (const field of ['to:', 'subject:', 'text:', 'html:']) expect(compose).toContain(field);
	});

	it('names its credentials as npm start creates them, and has no worker', () => {
		const used = Object.fromEntries(
			workflow.nodes
				.flatMap((n) => Object.entries(n.credentials ?? {}))
				.map(([t, r]) => [t, r.name]),
		);
		expect(used).toEqual({
			batchGuardianApi: 'Batch Guardian (local)',
			smtp: 'Local SMTP (maildev)',
		});
		expect(workflow.nodes.some((n) => n.type.endsWith('.checkpoint'))).toBe(false);
	});
});
