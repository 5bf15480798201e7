import type { IExecuteFunctions } from 'n8n-workflow';

import { fieldReferences } from '../../../nodes/shared/field-reference';
import { perRunReader, sameForEveryItem } from '../../../nodes/shared/parameters';

/**
 * A context whose node has these raw parameters and input items; counts how often n8n is asked
 * for each parameter and for the data proxy. Its `$('Claim').item` pairs input item i with the
 * Claim output `claimed[i]`, as n8n's proxy would.
 */
function context(
	parameters: Record<string, unknown>,
	items: Array<Record<string, unknown>> = [],
	claimed: Array<Record<string, unknown>> = [],
) {
	const asked: Record<string, number> = {};
	const ctx = {
		getNode: () => ({ parameters }),
		getInputData: () => items.map((json) => ({ json })),
		getWorkflowDataProxy: (itemIndex: number) => {
			asked.$proxy = (asked.$proxy ?? 0) + 1;
			return {
				$: (node: string) => {
					if (node !== 'Claim') throw new Error(`Referenced node doesn't exist: ${node}`);
					return { item: { json: claimed[itemIndex] } };
				},
			};
		},
		getNodeParameter: (name: string, itemIndex: number) => {
			asked[name] = (asked[name] ?? 0) + 1;
			return `${name}@${itemIndex}`;
		},
	} as unknown as IExecuteFunctions;
	return { ctx, asked };
}

describe('parameters read once per run when they name no item', () => {
	const parameters = {
		batchId: "={{ $('Worker Webhook').first().json.body.batchId }}",
		itemKey: '={{ $json.key }}',
		viaPairing: "={{ $('Claim').item.json.key }}",
		legacy: '={{ $node["Claim"].json.key }}',
		fixed: 'b-1',
		number: 3,
	};

	it('tells an expression naming an item from one that does not', () => {
		const { ctx } = context(parameters);
		const same = (name: string) => sameForEveryItem(ctx, name);
		expect(['batchId', 'fixed', 'number'].filter(same)).toEqual(['batchId', 'fixed', 'number']);
		expect(['itemKey', 'viaPairing', 'legacy', 'leftAtDefault'].filter(same)).toEqual([]);
	});

	it('asks n8n once for a parameter the same for every item, per item for the others', () => {
		const { ctx, asked } = context(parameters);
		const read = perRunReader(ctx);
		const values = [0, 1, 2].map((i) => [read('batchId', i), read('itemKey', i)]);
		expect(values).toEqual([
			['batchId@0', 'itemKey@0'],
			['batchId@0', 'itemKey@1'],
			['batchId@0', 'itemKey@2'],
		]);
		expect(asked).toEqual({ batchId: 1, itemKey: 3 });
	});
});

describe('a parameter that is nothing but one field is read from its item', () => {
	it('knows the expressions that are fields, of the item or of a paired item, or a ?? chain of them', () => {
		const { ctx } = context({
			own: '={{ $json.key }}',
			nested: '={{  $json.json.domainLimiterKey  }}',
			paired: "={{ $('Claim').item.json.key }}",
			pairedDouble: '={{ $("Checkpoint Claim").item.json.a.b }}',
			chain: '={{ $json.batchId ?? $json.body?.batchId }}',
			computed: "={{ 'smtp-' + $json.key }}",
			or: '={{ $json.itemKey || $json.key }}',
			bracket: "={{ $json['key'] }}",
			text: '=id-{{ $json.key }}',
			first: "={{ $('Claim').first().json.key }}",
			call: '={{ $json.key.trim() }}',
			plain: '$json.key',
			oddName: "={{ $('What??').item.json.key }}",
		});
		const of = (name: string) => fieldReferences(ctx, name);
		const step = (name: string, optional = false) => ({ name, optional });
		expect(of('own')).toEqual([{ path: [step('key')] }]);
		expect(of('nested')).toEqual([{ path: [step('json'), step('domainLimiterKey')] }]);
		expect(of('paired')).toEqual([{ node: 'Claim', path: [step('key')] }]);
		expect(of('pairedDouble')).toEqual([
			{ node: 'Checkpoint Claim', path: [step('a'), step('b')] },
		]);
		expect(of('chain')).toEqual([
			{ path: [step('batchId')] },
			{ path: [step('body'), step('batchId', true)] },
		]);
		for (const name of [
			'computed',
			'or',
			'bracket',
			'text',
			'first',
			'call',
			'plain',
			'oddName',
			'none',
		])
			expect(of(name)).toBeUndefined();
	});

	it('reads a ?? chain as JavaScript does: the first operand that is not null or undefined', () => {
		const parameters = {
			key: '={{ $json.itemKey ?? $json.key ?? $json.id }}',
			batch: '={{ $json.batchId ?? $json.body?.batchId }}',
		};
		const { ctx, asked } = context(parameters, [
			{ itemKey: 'a', key: 'b', body: { batchId: 'b-1' } },
			{ itemKey: null, key: 'k', batchId: 'b-2' },
			{ id: 42 },
			{ key: '' },
		]);
		const read = perRunReader(ctx);
		expect([0, 1, 2, 3].map((i) => [read('key', i), read('batch', i)])).toEqual([
			['a', 'b-1'],
			['k', 'b-2'],
			[42, 'batch@2'],
			['', 'batch@3'],
		]);
		// Item 2 and 3 have no batch id at all: n8n evaluates those, and says what is wrong.
		expect(asked).toEqual({ batch: 2 });
	});

	it('leaves to n8n a chain whose first value is an object, or an access n8n would fail on', () => {
		const { ctx, asked } = context(
			{ key: '={{ $json.itemKey ?? $json.key }}', deep: '={{ $json.a.b ?? $json.key }}' },
			[{ itemKey: { x: 1 }, key: 'k' }, { key: 'k' }, { a: 'text', key: 'k' }],
		);
		const read = perRunReader(ctx);
		expect(read('key', 0)).toBe('key@0');
		// `$json.a.b` with no `a` is a TypeError in n8n, even though `$json.key` has a value.
		expect(read('deep', 1)).toBe('deep@1');
		expect(read('deep', 2)).toBe('deep@2');
		expect(asked).toEqual({ key: 1, deep: 2 });
	});

	it('takes strings, numbers and booleans from the item without asking n8n', () => {
		const { ctx, asked } = context({ key: '={{ $json.key }}', index: '={{ $json.at.n }}' }, [
			{ key: 'k-0', at: { n: 0 } },
			{ key: 'k-1', at: { n: 7 } },
		]);
		const read = perRunReader(ctx);
		expect([0, 1].map((i) => [read('key', i), read('index', i)])).toEqual([
			['k-0', 0],
			['k-1', 7],
		]);
		expect(asked).toEqual({});
	});

	it("leaves to n8n what it cannot read as n8n would: a missing field, an object, null, another item's prototype", () => {
		const { ctx, asked } = context({ key: '={{ $json.key }}' }, [
			{},
			{ key: { nested: true } },
			{ key: null },
			{ other: 'x' },
		]);
		const read = perRunReader(ctx);
		expect([0, 1, 2, 3].map((i) => read('key', i))).toEqual(['key@0', 'key@1', 'key@2', 'key@3']);
		expect(asked).toEqual({ key: 4 });
		const proto = context({ key: '={{ $json.toString }}' }, [{}]);
		expect(perRunReader(proto.ctx)('key', 0)).toBe('key@0');
	});

	it("reads a paired item's field through n8n's data proxy, and leaves errors to n8n", () => {
		const { ctx, asked } = context(
			{ key: "={{ $('Claim').item.json.key }}", gone: "={{ $('Removed').item.json.key }}" },
			[{ messageId: 'm-0' }, { messageId: 'm-1' }],
			[{ key: 'k-0' }, {}],
		);
		const read = perRunReader(ctx);
		expect(read('key', 0)).toBe('k-0');
		expect(read('key', 1)).toBe('key@1');
		expect(read('gone', 0)).toBe('gone@0');
		expect(asked).toEqual({ $proxy: 3, key: 1, gone: 1 });
	});
});
