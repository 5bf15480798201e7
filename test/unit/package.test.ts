import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(__dirname, '../..');
const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));

describe('the n8n community package', () => {
	it('is discoverable as a community node package', () => {
		expect(pkg.name).toMatch(/^n8n-nodes-/);
		expect(pkg.keywords).toContain('n8n-community-node-package');
		expect(pkg.license).toBe('MIT');
		expect(pkg.n8n.n8nNodesApiVersion).toBe(1);
	});

	it('has no runtime dependencies, only n8n-workflow as a peer', () => {
		expect(pkg.dependencies ?? {}).toEqual({});
		expect(Object.keys(pkg.peerDependencies)).toEqual(['n8n-workflow']);
	});

	it('lists a built file for every node and credential source', () => {
		const nodeSources = readdirSync(path.join(root, 'nodes'), { withFileTypes: true })
			.filter((entry) => entry.isDirectory() && entry.name !== 'shared')
			.map((entry) => `dist/nodes/${entry.name}/${entry.name}.node.js`);
		expect([...pkg.n8n.nodes].sort()).toEqual(nodeSources.sort());
		const credentialSources = readdirSync(path.join(root, 'credentials'))
			.filter((file) => file.endsWith('.credentials.ts'))
			.map((file) => `dist/credentials/${file.replace(/\.ts$/, '.js')}`);
		expect([...pkg.n8n.credentials].sort()).toEqual(credentialSources.sort());
	});

	// n8n's verification refuses community nodes in the Logic and Flow codex categories.
	it('uses no Logic or Flow codex category', () => {
		for (const nodePath of pkg.n8n.nodes as string[]) {
			const codexPath = path.join(root, nodePath.replace(/^dist\//, '').replace(/\.js$/, '.json'));
			const codex = JSON.parse(readFileSync(codexPath, 'utf8'));
			expect(codex.node).toBe(`${pkg.name}.${codex.node.split('.')[1]}`);
			expect(codex.categories).not.toEqual(expect.arrayContaining(['Logic']));
			expect(codex.categories).not.toEqual(expect.arrayContaining(['Flow']));
		}
	});
});
