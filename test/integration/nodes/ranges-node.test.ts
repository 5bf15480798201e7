import type { IDataObject, INodeExecutionData } from 'n8n-workflow';

import { TEST_API_KEY } from '../../harness/service';
import { liveService, splitIntoChunks, type LiveService } from './live-node';

/** Split Into Chunks -> Ranges against the real service: descriptors as a batch or as a Loop. */
const ranges = (batchKey: string, extra: IDataObject = {}) => ({
	operation: 'ranges',
	batchKey,
	paging: 'offset',
	totalRows: 0,
	rangeSize: 1000,
	rangesOutput: 'batch',
	targetUrl: '',
	lastKeys: [],
	startAfter: '',
	pageKeyField: 'id',
	options: {},
	...extra,
});

/** A source of rows with ids 1..count, read a page at a time by the loop body. */
const source = (count: number) => Array.from({ length: count }, (_, n) => ({ id: n + 1 }));

describe('Split Into Chunks -> Ranges (real service, real Redis)', () => {
	let live: LiveService;
	beforeEach(async () => {
		live = await liveService();
	});
	afterEach(async () => live.close());

	const get = async (path: string) =>
		(await fetch(`${live.url}${path}`, { headers: { 'x-api-key': TEST_API_KEY } })).json();

	it('submits offset descriptors as a batch for a worker, one range per chunk', async () => {
		const [[summary]] = await live.run(splitIntoChunks, {
			parameters: ranges('r-offset', {
				totalRows: '2500',
				targetUrl: 'http://127.0.0.1:9/worker',
				options: { addFields: '{"table":"orders"}', metadata: { until: '2026-05-01' } },
			}),
			items: [{ json: { count: '2500' } }],
		});
		expect(summary.json).toMatchObject({
			batchId: 'r-offset',
			ranges: 3,
			accepted: 3,
			meta: { until: '2026-05-01' },
		});
		const progress = await get('/v1/batches/r-offset');
		expect(progress).toMatchObject({ counts: { total: 3 }, chunkSize: { configured: 1 } });
		// A re-run with the same key gets the first run's plan back, not its own.
		const [[again]] = await live.run(splitIntoChunks, {
			parameters: ranges('r-offset', {
				totalRows: 9000,
				targetUrl: 'http://127.0.0.1:9/worker',
				options: { metadata: { until: '2026-06-01' } },
			}),
			items: [{ json: {} }],
		});
		expect(again.json).toMatchObject({ created: false, meta: { until: '2026-05-01' } });
		expect(await get('/v1/batches/r-offset')).toMatchObject({ counts: { total: 3 } });
	});

	it('loops over keyset ranges, each starting after the last key of the one before', async () => {
		const nodeContext = {};
		const parameters = ranges('r-keyset', {
			paging: 'keyset',
			rangesOutput: 'loop',
			lastKeys: [1000, 2000, 2500],
			startAfter: '0',
		});
		const got: IDataObject[] = [];
		let [chunk, done] = await live.run(splitIntoChunks, {
			parameters,
			items: [{ json: {} }],
			nodeContext,
		});
		while (chunk.length > 0) {
			got.push(chunk[0].json);
			// The body reads WHERE id > afterKey AND id <= lastKey and hands its rows back.
			const rows = source(2500)
				.filter(
					(row) =>
						row.id > Number(chunk[0].json.afterKey) && row.id <= Number(chunk[0].json.lastKey),
				)
				.map((json) => ({ json }));
			[chunk, done] = await live.run(splitIntoChunks, { parameters, items: rows, nodeContext });
		}
		expect(got.map(({ chunkIndex, afterKey, lastKey }) => [chunkIndex, afterKey, lastKey])).toEqual(
			[
				[0, '0', 1000],
				[1, 1000, 2000],
				[2, 2000, 2500],
			],
		);
		expect(done).toHaveLength(1);
		expect(done[0].json).toMatchObject({ state: 'completed', counts: { succeeded: 3 } });
	});

	/** The body of an until-short loop: reads the page after afterKey and hands its rows back. */
	const page = (rows: Array<{ id: number }>, descriptor: IDataObject): INodeExecutionData[] => {
		const after = descriptor.afterKey === null ? 0 : Number(descriptor.afterKey);
		const found = rows.filter((row) => row.id > after).slice(0, Number(descriptor.limit));
		// An empty page comes back as one empty item (Always Output Data): no rows.
		return found.length > 0 ? found.map((json) => ({ json })) : [{ json: {} }];
	};

	it('pages until a page comes back short, resuming after a crash with the right afterKey', async () => {
		const rows = source(2000);
		const parameters = ranges('r-short', { paging: 'untilShort', rangeSize: 500 });
		const descriptors: IDataObject[] = [];
		let nodeContext = {};
		let [chunk, done] = await live.run(splitIntoChunks, {
			parameters,
			items: [{ json: {} }],
			nodeContext,
		});
		for (let turn = 0; chunk.length > 0 && turn < 20; turn++) {
			descriptors.push(chunk[0].json);
			const back = page(rows, chunk[0].json);
			if (turn === 1) {
				// n8n dies with page 1 read but not handed back; the workflow runs again with the key.
				nodeContext = {};
				[chunk, done] = await live.run(splitIntoChunks, {
					parameters,
					items: [{ json: {} }],
					nodeContext,
				});
				continue;
			}
			[chunk, done] = await live.run(splitIntoChunks, { parameters, items: back, nodeContext });
		}
		expect(
			descriptors.map(({ chunkIndex, offset, afterKey }) => [chunkIndex, offset, afterKey]),
		).toEqual([
			[0, 0, null],
			[1, 500, 500],
			[1, 500, 500],
			[2, 1000, 1000],
			[3, 1500, 1500],
			// 2,000 rows fill four pages exactly: the fifth comes back empty and ends the loop.
			[4, 2000, 2000],
		]);
		expect(done).toHaveLength(1);
		expect(done[0].json).toMatchObject({ state: 'completed', sealed: true, counts: { total: 5 } });
	});

	it('with End When empty, reads every row of an API that caps its pages below Range Size', async () => {
		const rows = source(1050);
		// The source answers at most 100 rows whatever the limit: by offset, or after a key.
		const capped = (descriptor: IDataObject, byKey: boolean): INodeExecutionData[] => {
			const after = descriptor.afterKey === null ? 0 : Number(descriptor.afterKey);
			const found = byKey
				? rows.filter((row) => row.id > after).slice(0, 100)
				: rows.slice(Number(descriptor.offset), Number(descriptor.offset) + 100);
			return found.length > 0 ? found.map((json) => ({ json })) : [{ json: {} }];
		};
		for (const byKey of [true, false]) {
			const parameters = ranges(`r-capped-${byKey}`, {
				paging: 'untilShort',
				rangeSize: 500,
				endWhen: 'empty',
				pageKeyField: byKey ? 'id' : '',
			});
			const nodeContext = {};
			const read: number[] = [];
			let [chunk, done] = await live.run(splitIntoChunks, {
				parameters,
				items: [{ json: {} }],
				nodeContext,
			});
			for (let turn = 0; chunk.length > 0 && turn < 30; turn++) {
				const back = capped(chunk[0].json, byKey);
				read.push(...back.map(({ json }) => Number(json.id)).filter((id) => id > 0));
				[chunk, done] = await live.run(splitIntoChunks, { parameters, items: back, nodeContext });
			}
			// Every row once, in order: 10 full pages of 100, one of 50, then the empty one.
			expect(read).toEqual(rows.map((row) => row.id));
			expect(done[0].json).toMatchObject({ state: 'completed', counts: { total: 12 } });
		}
	});

	it('with End When short (the default), a capped page ends the loop: the trap End When empty avoids', async () => {
		const parameters = ranges('r-capped-short', { paging: 'untilShort', rangeSize: 500 });
		const nodeContext = {};
		let [chunk, done] = await live.run(splitIntoChunks, {
			parameters,
			items: [{ json: {} }],
			nodeContext,
		});
		const back = source(100).map((json) => ({ json }));
		[chunk, done] = await live.run(splitIntoChunks, { parameters, items: back, nodeContext });
		expect(chunk).toHaveLength(0);
		expect(done[0].json).toMatchObject({ state: 'completed', counts: { total: 1 } });
	});

	it('names what is wrong before any request', async () => {
		const run = (extra: IDataObject) =>
			live.run(splitIntoChunks, {
				parameters: ranges('r-bad', extra),
				items: [{ json: {} }],
				nodeContext: {},
			});
		await expect(run({ totalRows: -1 })).rejects.toThrow("'Total Rows' must be");
		await expect(run({ totalRows: 10, rangeSize: 0 })).rejects.toThrow("'Range Size' must be");
		await expect(run({ totalRows: 1e9, rangeSize: 1 })).rejects.toThrow('more than 100000');
		await expect(run({ paging: 'keyset', lastKeys: 'not a list' })).rejects.toThrow(
			"'Last Keys of the Ranges' must be a list",
		);
		await expect(run({ paging: 'keyset', lastKeys: [1, { id: 2 }] })).rejects.toThrow(
			"'Last Keys of the Ranges [1]' must be text or a number",
		);
		await expect(run({ totalRows: 5, options: { addFields: '[1]' } })).rejects.toThrow(
			"'Add Fields' must be a JSON object",
		);
		const answer = await fetch(`${live.url}/v1/batches/r-bad`, {
			headers: { 'x-api-key': TEST_API_KEY },
		});
		expect(answer.status).toBe(404);
	});
});
