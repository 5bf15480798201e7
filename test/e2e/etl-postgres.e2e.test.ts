import { join } from 'node:path';

import { startN8n, type N8nInstance } from '../../scripts/lib/n8n/instance';
import { sleep } from '../../scripts/lib/process';
import {
	createEtlTables,
	etlCredentials,
	etlTemplate,
	tableDifferences,
	writesPerRow,
} from '../harness/etl';
import { scratchDatabase, type ScratchDatabase } from '../harness/postgres';
import { getStack, serviceRequest, unique } from './helpers';

/**
 * The shipped ETL templates (etl-postgres.json and its worker) in a real n8n of this test's own,
 * which it kills with SIGKILL mid-copy and starts again on the same folder and port. Source and
 * target live in a scratch PostgreSQL database; a trigger logs every write to the target.
 * BG_E2E_ETL_ROWS sets the size (default 100,000, about 80 s here).
 */
const ROWS = Number(process.env.BG_E2E_ETL_ROWS || 100_000);
const RANGE = 1000;
const CHANGED = 5_000;

interface Progress {
	state: string;
	counts: Record<string, number>;
	chunks: { total: number; done: number };
}
interface Cursor {
	value: string;
	version: number;
}

const log = (message: string) => process.stderr.write(`[etl e2e] ${message}\n`);

async function progress(batchId: string): Promise<Progress | undefined> {
	const answer = await serviceRequest<Progress>('GET', `/v1/batches/${batchId}`);
	return answer.status === 200 ? answer.body : undefined;
}

async function until<T>(
	what: string,
	timeoutMs: number,
	check: () => Promise<T | undefined | false>,
	everyMs = 500,
): Promise<T> {
	const deadline = Date.now() + timeoutMs;
	for (;;) {
		const value = await check();
		if (value) return value;
		if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
		await sleep(everyMs);
	}
}

describe('ETL PostgreSQL -> PostgreSQL in real n8n, killed mid-copy', () => {
	jest.setTimeout(20 * 60_000);
	let db: ScratchDatabase;
	let n8n: N8nInstance;
	let cursorName: string;
	let intakeId: string;

	beforeAll(async () => {
		const stack = getStack();
		db = await scratchDatabase('bg_etl');
		await createEtlTables(db.client, ROWS);
		n8n = await startN8n({
			packageTarball: stack.tarball,
			userFolder: join(stack.runDir, unique('n8n-etl')),
			env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none' },
			log,
		});
		const credentials = await etlCredentials(n8n, stack.service, db.credential);
		cursorName = unique('etl-postgres-e2e');
		const patch = (node: { type: string; parameters: Record<string, unknown> }) => {
			if (node.type.endsWith('.checkpoint') && node.parameters.cursorName) {
				node.parameters.cursorName = cursorName;
			}
			if (node.type.endsWith('.splitIntoChunks')) {
				// A lease shorter than the default 2 min, so ranges cut off by the kill come back soon.
				const options = node.parameters.options as Record<string, unknown>;
				options.timeoutMs = 20_000;
			}
		};
		await n8n.createAndActivate(etlTemplate('etl-postgres-worker.json', credentials, patch));
		intakeId = await n8n.createAndActivate(etlTemplate('etl-postgres.json', credentials, patch));
	});

	afterAll(async () => {
		await n8n?.stop();
		await db?.drop();
	});

	const trigger = async (body: Record<string, unknown>) => {
		// The worker's URL on 127.0.0.1, where this n8n listens ('localhost' may resolve to ::1).
		const workerUrl = n8n.webhookUrl('etl-postgres-worker');
		// Ranges of 1,000 rows (the template's default is 5,000): more of them to kill amid.
		const answer = await n8n.callWebhook<{ batchId: string; created: boolean; meta: object }>(
			'etl-postgres',
			{ workerUrl, rangeSize: RANGE, ...body },
			{ timeoutMs: 120_000 },
		);
		expect(answer.status).toBe(200);
		return answer.body;
	};
	const cursorAt = (version: number) =>
		until(`cursor ${cursorName} at version ${version}`, 10 * 60_000, async () => {
			const answer = await serviceRequest<Cursor>('GET', `/v1/cursors/${cursorName}`);
			return answer.status === 200 && answer.body.version >= version ? answer.body : undefined;
		});

	it('copies every row once per finished range through a kill -9, then only the changed rows', async () => {
		const batchKey = unique('etl-full');
		const ranges = Math.ceil(ROWS / RANGE);
		// The intake answers once the batch is sealed, while the worker is already busy: watch the
		// batch from the start, not from the answer.
		const first = trigger({ mode: 'full', batchKey });
		const seen = await until(
			'a third of the ranges copied',
			5 * 60_000,
			async () => {
				const p = await progress(batchKey);
				return p && p.counts.succeeded >= ranges / 3 ? p : undefined;
			},
			50,
		);
		const killAt = Date.now();
		await n8n.main.kill('SIGKILL');
		log(
			`${seen.counts.succeeded} ranges copied when the kill was sent (${Date.now() - killAt} ms)`,
		);
		expect(await first).toMatchObject({ batchId: batchKey, created: true, ranges });
		type Chunk = { chunkIndex: number; items: number; left: number };
		const chunks = await serviceRequest<{ chunks: Chunk[] }>(
			'GET',
			`/v1/batches/${batchKey}/chunks?limit=1000`,
		);
		// One range per chunk: chunk i is the range of ids (1000 i, 1000 (i + 1)]. Chunks not cut
		// yet are listed as { items: 0, left: 0 } (test/integration/engine-issues): not finished.
		const finished = chunks.body.chunks
			.filter((c) => c.items > 0 && c.left === 0)
			.map((c) => c.chunkIndex);
		log(`killed n8n with ${finished.length} of ${ranges} ranges copied`);
		expect(finished.length).toBeGreaterThan(0);
		expect(finished.length).toBeLessThan(ranges);
		const writesBeforeKill = await writesPerRow(db.client);

		await n8n.main.restart();
		await n8n.login();
		const again = await trigger({ mode: 'full', batchKey });
		expect(again).toMatchObject({ batchId: batchKey, created: false });
		const saved = await cursorAt(1);
		expect(await progress(batchKey)).toMatchObject({
			state: 'completed',
			counts: { total: ranges, succeeded: ranges },
		});

		expect(await tableDifferences(db.client)).toBe(0);
		const writes = await writesPerRow(db.client);
		expect(writes.size).toBe(ROWS);
		const inFinished = (id: number) => finished.includes(Math.floor((id - 1) / RANGE));
		const rewritten = [...writes].filter(([id, n]) => inFinished(id) && n !== 1);
		expect(rewritten).toEqual([]);
		const redone = [...writes].filter(([id, n]) => n > (writesBeforeKill.get(id) ?? 0) + 1);
		expect(redone).toEqual([]);
		log(
			`${[...writes.values()].filter((n) => n > 1).length} rows of ranges cut off by the kill were written twice`,
		);
		const newest = await db.client.query<{ at: string }>(
			`SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS at FROM etl_source`,
		);
		expect(saved).toMatchObject({ version: 1, value: newest.rows[0].at });

		// 5,000 rows change; the incremental run copies exactly those, each once.
		await db.client.query('TRUNCATE etl_target_log');
		await db.client.query(
			`UPDATE etl_source SET name = ' changed ' || id, updated_at = clock_timestamp()
			 WHERE id % $1::int = 0`,
			[Math.floor(ROWS / CHANGED)],
		);
		const incremental = await trigger({ mode: 'incremental' });
		expect(incremental).toMatchObject({ batchId: 'etl-postgres-incremental-v1', created: true });
		await cursorAt(2);
		expect(await tableDifferences(db.client)).toBe(0);
		const changed = await writesPerRow(db.client);
		expect(changed.size).toBe(CHANGED);
		expect([...changed.values()].every((n) => n === 1)).toBe(true);
		expect([...changed.keys()].every((id) => id % Math.floor(ROWS / CHANGED) === 0)).toBe(true);
	});

	it('counts a range whose rows are gone since the plan as copied (the worker answers 200)', async () => {
		const batchKey = unique('etl-empty');
		const range = { chunkIndex: 0, afterKey: '900000000', lastKey: '900001000', limit: RANGE };
		const window = { since: '-infinity', until: 'infinity' };
		const created = await serviceRequest('POST', '/v1/batches', {
			batchKey,
			targetUrl: n8n.webhookUrl('etl-postgres-worker'),
			chunkSize: 1,
		});
		expect(created.status).toBe(201);
		await serviceRequest('POST', `/v1/batches/${batchKey}/items`, {
			items: [{ key: 'range-0', json: { ...range, ...window } }],
			final: true,
		});
		const done = await until('the empty range settled', 60_000, async () => {
			const p = await progress(batchKey);
			return p && ['completed', 'completed_with_errors'].includes(p.state) ? p : undefined;
		});
		expect(done).toMatchObject({ state: 'completed', counts: { succeeded: 1 } });
	});

	it('lets one of two runs racing to save the cursor win; the other stops with a clear error', async () => {
		await db.client.query(
			`UPDATE etl_source SET amount = amount + 1, updated_at = clock_timestamp() WHERE id <= 10`,
		);
		// The target is locked until both runs have loaded the cursor and planned: neither copy can
		// finish (and save) before the other has loaded version 2.
		const lock = await db.connect();
		await lock.query('BEGIN');
		await lock.query('LOCK TABLE etl_target IN EXCLUSIVE MODE');
		let a: { batchId: string };
		let b: { batchId: string };
		try {
			[a, b] = await Promise.all([
				trigger({ mode: 'incremental' }),
				trigger({ mode: 'incremental' }),
			]);
		} finally {
			await lock.query('COMMIT');
		}
		// Both planned from cursor version 2: the same batch key, so one batch copies the rows once.
		expect(a.batchId).toBe('etl-postgres-incremental-v2');
		expect(b.batchId).toBe(a.batchId);
		const errored = await n8n.waitForExecution(
			intakeId,
			(e) => e.status === 'error' && e.data?.resultData.lastNodeExecuted === 'Save Cursor',
			120_000,
		);
		expect(errored.data?.resultData.error?.message).toMatch(
			new RegExp(
				`Cursor '${cursorName}' is at version 3 .*not at version 2 that this save started from: another run moved it first`,
			),
		);
		expect((await cursorAt(3)).version).toBe(3);
		expect(await tableDifferences(db.client)).toBe(0);
	});
});
