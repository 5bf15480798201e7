import type { IDataObject } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { checkpoint, liveService, type LiveService } from './live-node';

/** Checkpoint -> Load Cursor / Save Cursor against the real service. */
const load = (name: string, extra: IDataObject = {}) => ({
	operation: 'loadCursor',
	cursorName: name,
	cursorField: 'cursor',
	whenMissing: 'initial',
	initialValue: '1970-01-01T00:00:00Z',
	...extra,
});
const save = (name: string, value: unknown, expectedVersion: unknown): IDataObject =>
	({
		operation: 'saveCursor',
		cursorName: name,
		cursorField: 'cursor',
		cursorValue: value,
		expectedVersion,
	}) as IDataObject;

describe('Checkpoint -> Load Cursor / Save Cursor (real service, real Redis)', () => {
	let live: LiveService;
	beforeEach(async () => {
		live = await liveService();
	});
	afterEach(async () => live.close());

	const run = (parameters: IDataObject, json: IDataObject = { job: 'orders' }) =>
		live.run(checkpoint, { parameters, items: [{ json }] });

	it('loads the initial value at version 0, then what was saved, with its version', async () => {
		const [[first]] = await run(load('orders'));
		expect(first.json).toEqual({
			job: 'orders',
			cursor: {
				name: 'orders',
				value: '1970-01-01T00:00:00Z',
				version: 0,
				found: false,
				updatedAt: null,
			},
		});
		const [[saved]] = await run(save('orders', { updatedAt: '2026-05-01T10:00:00Z', id: 7 }, 0));
		expect(saved.json.cursor).toMatchObject({ version: 1, found: true });
		const [[loaded]] = await run(load('orders'));
		expect(loaded.json.cursor).toMatchObject({
			name: 'orders',
			value: { updatedAt: '2026-05-01T10:00:00Z', id: 7 },
			version: 1,
			found: true,
		});
		await expect(run(load('missing', { whenMissing: 'fail' }))).rejects.toThrow(
			"No cursor named 'missing' yet",
		);
	});

	it('lets one of two runs saving from the same version win; the other gets a clear error', async () => {
		await run(save('race', 100, 0));
		const results = await Promise.allSettled([
			run(save('race', 200, 1)),
			run(save('race', 150, 1)),
		]);
		const won = results.filter((r) => r.status === 'fulfilled');
		const lost = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
		expect(won).toHaveLength(1);
		expect(lost).toHaveLength(1);
		expect(lost[0].reason).toBeInstanceOf(NodeApiError);
		expect(lost[0].reason.message).toMatch(
			/Cursor 'race' is at version 2 \(saved at .+ by n8n execution exec-1 of workflow wf-1\), not at version 1 that this save started from: another run moved it first/,
		);
		expect(lost[0].reason.httpCode).toBe('409');
		// A stale run (it loaded version 1, another saved since) cannot move the cursor backwards.
		await expect(run(save('race', 50, 1))).rejects.toThrow('cannot move backwards');
		const [[loaded]] = await run(load('race'));
		expect(loaded.json.cursor).toMatchObject({ version: 2 });
		expect([200, 150]).toContain((loaded.json.cursor as IDataObject).value);
	});

	it('refuses a damaged cursor instead of using it', async () => {
		await run(save('damaged', '2026-05-01', 0));
		const key = live.service.ctx.keys.cursor('damaged');
		await live.service.ctx.redis.hset(key, 'value', JSON.stringify('2020-01-01'));
		const failing = run(load('damaged'));
		await expect(failing).rejects.toThrow("Cursor 'damaged' is damaged");
		const [[kept]] = await live.run(checkpoint, {
			parameters: load('damaged'),
			items: [{ json: {} }],
			continueOnFail: true,
		});
		expect(kept.json).not.toHaveProperty('cursor');
		expect(kept.json.error).toContain('does not match its checksum');
	});

	it('saves once per cursor and run: a second item for the same cursor is refused', async () => {
		const outputs = await live.run(checkpoint, {
			parameters: (i) => save('twice', i, 0),
			items: [{ json: { n: 0 } }, { json: { n: 1 } }],
			continueOnFail: true,
		});
		expect(outputs[0][0].json.cursor).toMatchObject({ version: 1, value: 0 });
		expect(outputs[0][1].json.error).toBe("Item 1 saves cursor 'twice' again in the same run");
		await expect(run(save('x', '', 0))).rejects.toThrow("'Value' is empty");
		await expect(run(save('x', 1, -1))).rejects.toThrow("'Expected Version' must be");
		await expect(run(save('bad name', 1, 0))).rejects.toThrow("'Cursor Name' is not a valid id");
	});
});
