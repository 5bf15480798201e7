import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { templateVersion } from '../../scripts/lib/workflows';

type Node = {
	name: string;
	type: string;
	position: [number, number];
	parameters: Record<string, unknown>;
	credentials?: Record<string, { name: string }>;
	alwaysOutputData?: boolean;
	executeOnce?: boolean;
};
type Workflow = {
	name: string;
	meta?: { templateVersion?: number };
	nodes: Node[];
	connections: Record<string, { main: Array<Array<{ node: string; index: number }>> }>;
};

const load = (file: string) =>
	JSON.parse(readFileSync(join(__dirname, '../../workflows', file), 'utf8')) as Workflow;

/** The credential names npm start creates, by type. */
const LOCAL_CREDENTIALS: Record<string, string> = {
	batchGuardianApi: 'Batch Guardian (local)',
	postgres: 'Local PostgreSQL',
};

const FILES = ['etl-postgres.json', 'etl-postgres-worker.json', 'etl-http.json'];

describe.each(FILES)('ETL template %s', (file) => {
	const workflow = load(file);
	const names = new Set(workflow.nodes.map((node) => node.name));

	it('connects only nodes it has, and carries a template version', () => {
		for (const [from, { main }] of Object.entries(workflow.connections)) {
			expect(names).toContain(from);
			for (const target of main.flat()) expect(names).toContain(target.node);
		}
		expect(workflow.meta?.templateVersion).toBe(templateVersion(workflow as never));
	});

	it('names every credential as npm start creates it, and uses the PostgreSQL one', () => {
		const used = workflow.nodes.flatMap((node) => Object.entries(node.credentials ?? {}));
		for (const [type, ref] of used) expect(ref.name).toBe(LOCAL_CREDENTIALS[type]);
		expect(used.map(([type]) => type)).toContain('postgres');
	});
});

const targets = (workflow: Workflow, from: string) =>
	workflow.connections[from].main.map((branch) => branch.map((c) => c.node));
const node = (workflow: Workflow, name: string) =>
	workflow.nodes.find((n) => n.name === name) as Node;

describe('the PostgreSQL ETL', () => {
	const intake = load('etl-postgres.json');
	const worker = load('etl-postgres-worker.json');

	it('plans keyset ranges, dispatches them, and saves the cursor only when all are copied', () => {
		expect(node(intake, 'Split Into Chunks').parameters).toMatchObject({
			operation: 'ranges',
			paging: 'keyset',
			rangesOutput: 'batch',
		});
		expect(targets(intake, 'Copied Everything?')).toEqual([['Save Cursor'], ['Needs Attention']]);
		expect(node(intake, 'Save Cursor').parameters).toMatchObject({
			cursorValue: "={{ $('Split Into Chunks').first().json.meta.until }}",
			expectedVersion: "={{ $('Load Cursor').first().json.cursor.version }}",
		});
	});

	it('claims each range, records it once per execution, and answers without a body', () => {
		expect(targets(worker, 'Checkpoint Claim')).toEqual([['Read Range'], ['Already Copied']]);
		expect(targets(worker, 'Read Range')).toEqual([['Upsert Rows']]);
		expect(targets(worker, 'Upsert Rows')).toEqual([['Checkpoint Record Results']]);
		// One statement for the whole range: n8n does no per-row work.
		expect(node(worker, 'Upsert Rows').executeOnce).toBe(true);
		expect(String(node(worker, 'Upsert Rows').parameters.query)).toContain(
			'ON CONFLICT (id) DO UPDATE',
		);
		expect(node(worker, 'Checkpoint Record Results').executeOnce).toBe(true);
		// An empty range ends at Read Range: the 200 answer (no body needed) settles it as done.
		expect(node(worker, 'ETL Worker Webhook').parameters).toMatchObject({
			responseMode: 'lastNode',
			responseData: 'noData',
		});
	});
});

describe('the HTTP ETL', () => {
	const workflow = load('etl-http.json');

	it('pages in a Ranges loop: the page is written before it goes back into the loop', () => {
		expect(node(workflow, 'Split Into Chunks').parameters).toMatchObject({
			operation: 'ranges',
			paging: 'untilShort',
			pageKeyField: 'id',
		});
		expect(targets(workflow, 'Split Into Chunks')).toEqual([['Fetch Page'], ['Save Cursor']]);
		expect(targets(workflow, 'Fetch Page')).toEqual([['Has Rows?', 'Split Into Chunks']]);
		// n8n (execution order v1) runs the upper branch first, to its end.
		const y = (name: string) => node(workflow, name).position[1];
		expect(y('Has Rows?')).toBeLessThan(y('Split Into Chunks'));
		expect(node(workflow, 'Fetch Page').alwaysOutputData).toBe(true);
		expect(node(workflow, 'Save Cursor').parameters.cursorValue).toBe('={{ $json.meta.until }}');
	});
});
