import { createHash } from 'node:crypto';
import type { IExecuteFunctions } from 'n8n-workflow';

import { Checkpoint } from '../../../nodes/Checkpoint/Checkpoint.node';
import { cursorChecksumText } from '../../../nodes/shared/contract';
import {
	firstPage,
	keysetRanges,
	offsetRanges,
	pageResult,
	type RangePlan,
} from '../../../nodes/SplitIntoChunks/v1/helpers/ranges';
import { items, run, submit, v1 } from './split-into-chunks.fixtures';
import { mockContext } from './mock-context';

const plan = (extra: Partial<RangePlan> = {}): RangePlan => ({
	paging: 'offset',
	limit: 1000,
	keyField: 'id',
	extra: {},
	...extra,
});

describe('Split Into Chunks: Loop and Ranges, described for n8n', () => {
	it('has Chunk and Done outputs for Loop and Ranges as a Loop, one output otherwise', () => {
		const outputs = String(v1.description.outputs);
		expect(outputs).toContain('"displayName": "Chunk"');
		expect(outputs).toContain('"displayName": "Done"');
		expect(outputs).toContain('$parameter.operation === "loop"');
		expect(outputs).toContain('$parameter.paging === "untilShort"');
		expect(outputs).toContain('$parameter.rangesOutput === "loop"');
	});
});

describe('Ranges descriptors', () => {
	it('cuts a known total into offset ranges, the last one short', () => {
		expect(offsetRanges(2500, plan({ extra: { table: 'orders' } }))).toEqual([
			{ key: 'range-0', json: { table: 'orders', chunkIndex: 0, offset: 0, limit: 1000 } },
			{ key: 'range-1', json: { table: 'orders', chunkIndex: 1, offset: 1000, limit: 1000 } },
			{ key: 'range-2', json: { table: 'orders', chunkIndex: 2, offset: 2000, limit: 500 } },
		]);
		expect(offsetRanges(0, plan())).toEqual([]);
	});

	it('starts each keyset range after the last key of the range before', () => {
		const descriptors = keysetRanges(['b', 'd', 'f'], 'a', plan({ paging: 'keyset' }));
		expect(descriptors.map((d) => [d.json.afterKey, d.json.lastKey])).toEqual([
			['a', 'b'],
			['b', 'd'],
			['d', 'f'],
		]);
		// The added fields never override the descriptor's own.
		const own = keysetRanges([5], null, plan({ extra: { chunkIndex: 9, since: 't' } }));
		expect(own[0].json).toEqual({
			chunkIndex: 0,
			since: 't',
			afterKey: null,
			lastKey: 5,
			limit: 1000,
		});
	});

	it('reads a page handed back: rows carry the key field, an empty item is no row', () => {
		const ctx = { getNode: () => ({ name: 'Split Into Chunks' }) } as unknown as IExecuteFunctions;
		const rows = [{ json: { id: 4 } }, { json: { id: 9, name: 'x' } }];
		expect(pageResult(ctx, rows, plan())).toEqual({ rows: 2, lastKey: 9 });
		expect(pageResult(ctx, [{ json: {} }], plan())).toEqual({ rows: 0, lastKey: null });
		expect(pageResult(ctx, [{ json: { a: 1 } }], plan({ keyField: '' }))).toEqual({
			rows: 1,
			lastKey: null,
		});
		expect(firstPage(7, plan()).json).toEqual({
			chunkIndex: 0,
			offset: 0,
			limit: 1000,
			afterKey: 7,
		});
	});
});

describe('Submit Batch: adaptive chunk size and metadata', () => {
	const adaptive = (settings: Record<string, unknown>) =>
		submit({ options: { chunkSize: 100, adaptiveChunkSize: { settings } } });

	it('sends the target seconds and the smallest and largest chunk', async () => {
		const { service } = await run({
			items: items(2),
			parameters: adaptive({ targetSeconds: 5, min: 20, max: 500 }),
		});
		expect(service.created).toMatchObject({
			chunkSize: 100,
			adaptiveChunkSize: { targetSeconds: 5, min: 20, max: 500 },
		});
		const plain = await run({ items: items(1) });
		expect(plain.service.created).not.toHaveProperty('adaptiveChunkSize');
	});

	it('refuses settings the service would refuse, before any request', async () => {
		for (const [settings, message] of [
			[{ targetSeconds: 5, min: 500, max: 20 }, "'Largest Chunk Size' (20) must not be below"],
			[{ targetSeconds: 0, min: 1, max: 2 }, "'Target Seconds per Chunk' must be"],
			[{ targetSeconds: 5, min: 0, max: 2 }, "'Smallest Chunk Size' must be"],
		] as const) {
			const failing = run({ items: items(1), parameters: adaptive(settings) });
			await expect(failing).rejects.toThrow(message);
		}
	});

	it('keeps metadata with the batch and refuses what is not an object', async () => {
		const { service } = await run({
			items: items(1),
			parameters: submit({ options: { metadata: '{"until":"2026-05-01"}' } }),
		});
		expect(service.created).toMatchObject({ meta: { until: '2026-05-01' } });
		await expect(
			run({ items: items(1), parameters: submit({ options: { metadata: '[1,2]' } }) }),
		).rejects.toThrow("'Batch Metadata' must be a JSON object");
	});
});

describe('Checkpoint -> Load Cursor checks the checksum on what arrived', () => {
	const answer = (value: unknown, checksumOf: unknown) => ({
		name: 'orders',
		value,
		version: 3,
		checksum: createHash('sha256')
			.update(cursorChecksumText('orders', 3, JSON.stringify(checksumOf)))
			.digest('hex'),
		updatedAt: '2026-05-01T00:00:00.000Z',
		savedBy: null,
	});
	const load = (body: unknown) => {
		const { ctx } = mockContext({
			parameters: { operation: 'loadCursor', cursorName: 'orders', cursorField: 'cursor' },
			respond: () => ({ statusCode: 200, body }),
		});
		return new Checkpoint().nodeVersions[1].execute!.call(ctx);
	};

	it('passes a value that matches, refuses one changed on the way', async () => {
		const [[ok]] = (await load(answer({ id: 5 }, { id: 5 }))) as Array<Array<{ json: object }>>;
		expect(ok.json).toMatchObject({ cursor: { value: { id: 5 }, version: 3, found: true } });
		await expect(load(answer({ id: 6 }, { id: 5 }))).rejects.toThrow(
			"Cursor 'orders' arrived damaged",
		);
	});
});
