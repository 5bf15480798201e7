import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { getStack } from './helpers';

/**
 * What n8n's editor gets for our nodes: GET /types/nodes.json of a real n8n 2.x with the packed
 * package installed (after n8n's own post-processing, e.g. its "Custom API Call" injection).
 */

interface Option {
	name: string;
	value: string;
	action?: string;
}
interface Property {
	name: string;
	displayName: string;
	options?: Array<Option | Property>;
}
interface NodeType {
	name: string;
	displayName: string;
	version: number | number[];
	defaultVersion?: number;
	subtitle?: string;
	documentationUrl?: string;
	properties: Property[];
	codex?: { alias?: string[]; resources?: { primaryDocumentation?: Array<{ url: string }> } };
}

const PACKAGE = 'n8n-nodes-batch-guardian';
const CUSTOM_API_CALL = '__CUSTOM_API_CALL__';

const expected: Record<string, { operations: string[]; aliases: string[] }> = {
	splitIntoChunks: {
		operations: ['Submit Batch', 'Loop', 'Ranges'],
		aliases: ['batch', 'loop', 'queue', 'resume', 'pagination'],
	},
	checkpoint: {
		operations: ['Claim', 'Record Results', 'Load Cursor', 'Save Cursor'],
		aliases: ['batch', 'resume', 'retry', 'cursor', 'incremental'],
	},
	rateLimit: {
		operations: ['Wait for Capacity', 'Split', 'Report Throttle'],
		aliases: ['throttle', 'retry'],
	},
	batchStatus: {
		operations: [
			'Cancel',
			'Final Report',
			'Get',
			'List',
			'Pause',
			'Resume',
			'Retry Dead Letters',
			'Wait for Completion',
		],
		aliases: ['batch', 'queue'],
	},
};

/** GitHub's anchor of a README heading: lower case, spaces to dashes, punctuation dropped. */
const readmeAnchors = () =>
	readFileSync(join(__dirname, '../../README.md'), 'utf8')
		.split('\n')
		.filter((line) => /^#{1,4} /.test(line))
		.map((line) =>
			line
				.replace(/^#+ /, '')
				.toLowerCase()
				.replace(/[^\w\- ]/g, '')
				.replace(/ /g, '-'),
		);

/** Every parameter, collections and their options opened. */
const allProperties = (properties: Property[]): Property[] =>
	properties.flatMap((p) => [
		p,
		...allProperties((p.options ?? []).filter((o): o is Property => 'displayName' in o)),
	]);

/** What the editor shows under a node's name: its subtitle expression, else the operation's name. */
function editorSubtitle(type: NodeType, operation: string): string | undefined {
	if (type.subtitle !== undefined) return type.subtitle;
	const options = type.properties.find((p) => p.name === 'operation')?.options as Option[];
	return options.find((o) => o.value === operation)?.name ?? operation;
}

describe('our node types as n8n serves them to the editor', () => {
	let types: NodeType[];
	let cookie = '';

	beforeAll(async () => {
		const { baseUrl, owner } = getStack().n8n;
		const login = await fetch(`${baseUrl}/rest/login`, {
			method: 'POST',
			headers: { 'content-type': 'application/json', 'browser-id': 'node-types-e2e' },
			body: JSON.stringify({ emailOrLdapLoginId: owner.email, password: owner.password }),
		});
		expect(login.status).toBe(200);
		cookie = login.headers
			.getSetCookie()
			.map((c) => c.split(';')[0])
			.join('; ');
		const response = await fetch(`${baseUrl}/types/nodes.json`, {
			headers: { cookie, 'browser-id': 'node-types-e2e' },
		});
		expect(response.status).toBe(200);
		types = ((await response.json()) as NodeType[]).filter((t) => t.name.startsWith(`${PACKAGE}.`));
	});

	/** The description of the node's default version, the one a new node gets. */
	const latest = (name: string): NodeType => {
		const versions = types.filter((t) => t.name === `${PACKAGE}.${name}`);
		const found = versions.find(
			(t) => t.defaultVersion === undefined || t.defaultVersion === t.version,
		);
		if (!found)
			throw new Error(`n8n serves no ${PACKAGE}.${name}; it has ${types.map((t) => t.name)}`);
		return found;
	};

	it.each(Object.entries(expected))(
		'%s offers its operations by name, none injected',
		(name, want) => {
			const type = latest(name);
			const operation = type.properties.find((p) => p.name === 'operation');
			const options = operation?.options as Option[];
			expect(options.map((o) => o.name)).toEqual(want.operations);
			expect(options.every((o) => typeof o.action === 'string' && o.action.length > 0)).toBe(true);
			expect(
				options.filter((o) => o.value === CUSTOM_API_CALL || /custom api call/i.test(o.name)),
			).toEqual([]);
		},
	);

	it('offers no Custom API Call in any of our node types, the AI tool variants included', () => {
		expect(types.length).toBeGreaterThanOrEqual(4);
		const injected = types.filter((type) =>
			type.properties.some((p) =>
				(p.options ?? []).some((o) => 'value' in o && o.value === CUSTOM_API_CALL),
			),
		);
		expect(injected.map((t) => t.name)).toEqual([]);
	});

	it.each(Object.keys(expected))('%s shows the operation display name as subtitle', (name) => {
		const type = latest(name);
		const options = type.properties.find((p) => p.name === 'operation')?.options as Option[];
		for (const option of options) {
			expect(editorSubtitle(type, option.value)).toBe(option.name);
		}
	});

	it.each(Object.entries(expected))('%s is found by the words users search for', (name, want) => {
		expect(latest(name).codex?.alias).toEqual(expect.arrayContaining(want.aliases));
	});

	it('finds Split Into Chunks and Checkpoint when searching "batch"', () => {
		const matches = Object.keys(expected).filter((name) => {
			const type = latest(name);
			return [type.displayName, ...(type.codex?.alias ?? [])].some((word) => /batch/i.test(word));
		});
		expect(matches).toEqual(expect.arrayContaining(['splitIntoChunks', 'checkpoint']));
	});

	it.each(Object.keys(expected))('%s links its docs to a README section that exists', (name) => {
		const type = latest(name);
		const urls = [
			type.documentationUrl,
			...(type.codex?.resources?.primaryDocumentation ?? []).map((d) => d.url),
		].filter((url): url is string => url !== undefined);
		expect(urls.length).toBeGreaterThan(0);
		for (const url of urls) expect(readmeAnchors()).toContain(url.split('#')[1]);
	});

	it('labels milliseconds "(ms)"', () => {
		const labels = Object.keys(expected).flatMap((name) =>
			allProperties(latest(name).properties).map((p) => p.displayName),
		);
		expect(labels.filter((label) => /\(Ms\)/.test(label))).toEqual([]);
		expect(labels).toEqual(expect.arrayContaining(['Timeout (ms)', 'Lease (ms)', 'Max Wait (ms)']));
	});

	// The credential declares no `authenticate` (that is what keeps Custom API Call away); its
	// test request sends the key itself, so n8n's credential test must still tell keys apart.
	it.each([
		['OK', 'the service key', () => getStack().service.apiKey],
		['Error', 'a wrong key', () => 'not-the-key'],
	])('the credential test says %s with %s', async (status, _, apiKey) => {
		const { n8n, service } = getStack();
		const response = await fetch(`${n8n.baseUrl}/rest/credentials/test`, {
			method: 'POST',
			headers: { cookie, 'browser-id': 'node-types-e2e', 'content-type': 'application/json' },
			body: JSON.stringify({
				credentials: {
					id: '',
					name: 'Batch Guardian (test)',
					type: 'batchGuardianApi',
					data: { baseUrl: service.url, apiKey: apiKey() },
				},
			}),
		});
		const body = (await response.json()) as { data?: { status: string; message: string } };
		expect(response.status).toBe(200);
		expect(body.data?.status).toBe(status);
	});
});
