/**
 * A scratch database on the local PostgreSQL (127.0.0.1:5432, user postgres, trust auth) for one
 * test or benchmark, dropped after. We talk to it with the `pg` n8n itself ships (no dependency
 * of our own), as scripts/lib/n8n/postgres.ts does for n8n's queue mode.
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { join } from 'node:path';

import { ensureN8n } from '../../scripts/lib/n8n/install';
import { dropDatabase, ensureDatabase, LOCAL_POSTGRES } from '../../scripts/lib/n8n/postgres';

export interface PgClient {
	query<R = Record<string, unknown>>(sql: string, values?: unknown[]): Promise<{ rows: R[] }>;
	end(): Promise<void>;
}

export interface ScratchDatabase {
	name: string;
	/** The n8n Postgres credential's data for it. */
	credential: Record<string, unknown>;
	client: PgClient;
	/** Another connection (e.g. to hold a lock while `client` goes on); ended by drop(). */
	connect(): Promise<PgClient>;
	drop(): Promise<void>;
}

const HOW_TO_START =
	'Start PostgreSQL 15 on 127.0.0.1:5432 with trust auth for user postgres (Debian: apt-get install -y postgresql, then pg_ctlcluster 15 main start).';

export async function scratchDatabase(prefix = 'bg_test'): Promise<ScratchDatabase> {
	const { n8nDir } = await ensureN8n(() => undefined);
	const name = `${prefix}_${randomBytes(4).toString('hex')}`;
	try {
		await ensureDatabase(n8nDir, name);
	} catch (error) {
		throw new Error(`${(error as Error).message}\n${HOW_TO_START}`);
	}
	const { Client } = createRequire(join(n8nDir, 'package.json'))('pg') as {
		Client: new (config: object) => PgClient & { connect(): Promise<void> };
	};
	const clients: PgClient[] = [];
	const connect = async () => {
		const client = new Client({ ...LOCAL_POSTGRES, database: name });
		await client.connect();
		clients.push(client);
		return client;
	};
	const client = await connect();
	const { host, port, user, password } = LOCAL_POSTGRES;
	return {
		name,
		credential: { host, port, database: name, user, password, ssl: 'disable', sshTunnel: false },
		client,
		connect,
		async drop() {
			await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
			await dropDatabase(n8nDir, name);
		},
	};
}
