import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

import { sleep } from '../../scripts/lib/process';
import { etlCredentials, etlTemplate, writesPerRow } from '../harness/etl';
import { scratchDatabase, type ScratchDatabase } from '../harness/postgres';
import { getStack, n8nClient, serviceRequest, unique } from './helpers';

/**
 * The shipped etl-http.json in real n8n: a paginated HTTP API (served here) copied into a
 * PostgreSQL table through Split Into Chunks -> Ranges (until a page comes back short, a Loop),
 * then only what changed since, by the cursor.
 */
const ROWS = 2_345;
const PAGE = 200;

interface Row {
	id: number;
	name: string;
	amount: string;
	updated_at: string;
}

/** GET ?since=&until=&after=&limit= -> rows changed in (since, until] with id > after, by id. */
class SourceApi {
	rows: Row[] = Array.from({ length: ROWS }, (_, n) => ({
		id: n + 1,
		name: `row ${n + 1}`,
		amount: ((n + 1) * 1.5).toFixed(2),
		updated_at: new Date(Date.UTC(2026, 0, 1) + n * 1000).toISOString(),
	}));
	pages = 0;
	private server?: Server;

	async start(): Promise<string> {
		this.server = createServer((req, res) => {
			const query = new URL(String(req.url), 'http://x').searchParams;
			const since = Date.parse(query.get('since') ?? '');
			const until = Date.parse(query.get('until') ?? '');
			const after = Number(query.get('after') || 0);
			const limit = Number(query.get('limit'));
			const page = this.rows
				.filter((row) => {
					const at = Date.parse(row.updated_at);
					return at > since && at <= until && row.id > after;
				})
				.slice(0, limit);
			this.pages++;
			res.writeHead(200, { 'content-type': 'application/json' });
			res.end(JSON.stringify(page));
		});
		await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
		return `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/rows`;
	}

	async stop(): Promise<void> {
		this.server?.closeAllConnections();
		await new Promise<void>((resolve) =>
			this.server ? this.server.close(() => resolve()) : resolve(),
		);
	}
}

describe('ETL HTTP API -> PostgreSQL in real n8n (a Ranges loop)', () => {
	jest.setTimeout(10 * 60_000);
	const api = new SourceApi();
	let db: ScratchDatabase;
	let sourceUrl: string;
	let path: string;
	let cursorName: string;

	beforeAll(async () => {
		const stack = getStack();
		sourceUrl = await api.start();
		db = await scratchDatabase('bg_etl_http');
		await db.client.query(`
			CREATE TABLE etl_target (id bigint PRIMARY KEY, name text, amount numeric, updated_at timestamptz);
			CREATE TABLE etl_target_log (seq bigserial PRIMARY KEY, id bigint NOT NULL, op text NOT NULL,
			  at timestamptz NOT NULL DEFAULT clock_timestamp());
			CREATE FUNCTION etl_target_logged() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN INSERT INTO etl_target_log (id, op) VALUES (NEW.id, TG_OP); RETURN NEW; END $$;
			CREATE TRIGGER etl_target_log AFTER INSERT OR UPDATE ON etl_target
			  FOR EACH ROW EXECUTE FUNCTION etl_target_logged();`);
		const n8n = n8nClient();
		const credentials = await etlCredentials(n8n, stack.service, db.credential);
		for (const credential of Object.values(credentials)) credential.name = unique(credential.name);
		path = unique('etl-http');
		cursorName = unique('etl-http-e2e');
		const workflow = etlTemplate('etl-http.json', credentials, (node) => {
			if (node.type === 'n8n-nodes-base.webhook') node.parameters.path = path;
			if (node.type.endsWith('.checkpoint')) node.parameters.cursorName = cursorName;
		});
		workflow.name = unique(workflow.name);
		await n8n.createAndActivate(workflow);
	});

	afterAll(async () => {
		await api.stop();
		await db?.drop();
	});

	const run = async (version: number) => {
		const answer = await n8nClient().callWebhook<{ started: boolean }>(path, {
			sourceUrl,
			pageSize: PAGE,
		});
		expect(answer.body).toMatchObject({ started: true });
		const deadline = Date.now() + 5 * 60_000;
		for (;;) {
			const cursor = await serviceRequest<{ version: number; value: string }>(
				'GET',
				`/v1/cursors/${cursorName}`,
			);
			if (cursor.status === 200 && cursor.body.version >= version) return cursor.body;
			if (Date.now() > deadline) throw new Error(`cursor not at version ${version}`);
			await sleep(500);
		}
	};
	const target = async () =>
		(
			await db.client.query<{ id: string; name: string; amount: string; at: string }>(
				`SELECT id, name, amount::text AS amount, to_char(updated_at AT TIME ZONE 'UTC',
				 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS at FROM etl_target ORDER BY id`,
			)
		).rows.map((row) => ({
			id: Number(row.id),
			name: row.name,
			amount: row.amount,
			updated_at: row.at,
		}));

	it('copies every page once, ends on the short page, then copies only what changed', async () => {
		const first = await run(1);
		expect(await target()).toEqual(api.rows);
		// 2,345 rows in pages of 200: 11 full pages and a short one.
		expect(api.pages).toBe(Math.ceil(ROWS / PAGE));
		const writes = await writesPerRow(db.client);
		expect(writes.size).toBe(ROWS);
		expect([...writes.values()].every((n) => n === 1)).toBe(true);

		await db.client.query('TRUNCATE etl_target_log');
		const now = Date.now();
		const changed = api.rows.filter((row) => row.id % 50 === 0);
		for (const row of changed) {
			row.name = `changed ${row.id}`;
			row.updated_at = new Date(now).toISOString();
		}
		api.pages = 0;
		const second = await run(2);
		expect(Date.parse(second.value)).toBeGreaterThan(Date.parse(first.value));
		expect(await target()).toEqual(api.rows);
		const rewritten = await writesPerRow(db.client);
		expect([...rewritten.keys()].sort((a, b) => a - b)).toEqual(changed.map((row) => row.id));
		expect(api.pages).toBe(1);
	});
});
