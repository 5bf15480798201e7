import type { IExecuteFunctions } from 'n8n-workflow';

import { perRunReader, sameForEveryItem } from '../../../nodes/shared/parameters';

/** A context whose node has these raw parameters; counts how often n8n is asked for each. */
function context(parameters: Record<string, unknown>) {
	const asked: Record<string, number> = {};
	const ctx = {
		getNode: () => ({ parameters }),
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
