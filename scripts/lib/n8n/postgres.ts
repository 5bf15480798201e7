/**
 * The local PostgreSQL that n8n's queue mode keeps its database in. We talk to it with the `pg`
 * that n8n itself ships (no dependency of our own), as user postgres over TCP (trust auth here).
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';

export interface PostgresTarget {
	host: string;
	port: number;
	user: string;
	password: string;
}

export const LOCAL_POSTGRES: PostgresTarget = {
	host: '127.0.0.1',
	port: 5432,
	user: 'postgres',
	password: '',
};

interface PgClient {
	connect(): Promise<void>;
	query(sql: string, values?: unknown[]): Promise<{ rows: Array<Record<string, unknown>> }>;
	end(): Promise<void>;
}

type PgClientClass = new (config: object) => PgClient;

function pgClient(n8nDir: string, target: PostgresTarget, database = 'postgres'): PgClient {
	const { Client } = createRequire(join(n8nDir, 'package.json'))('pg') as {
		Client: PgClientClass;
	};
	return new Client({ ...target, database, connectionTimeoutMillis: 3_000 });
}

async function withClient<T>(
	n8nDir: string,
	target: PostgresTarget,
	use: (client: PgClient) => Promise<T>,
): Promise<T> {
	const client = pgClient(n8nDir, target);
	try {
		await client.connect();
	} catch (error) {
		throw new Error(
			`PostgreSQL at ${target.host}:${target.port} (user ${target.user}) did not answer: ` +
				`${(error as Error).message}. n8n's queue mode keeps its database there: start ` +
				'PostgreSQL (Debian: apt-get install -y postgresql, then pg_ctlcluster 15 main start) ' +
				'or point the DB_POSTGRESDB_* settings at yours.',
		);
	}
	try {
		return await use(client);
	} finally {
		await client.end().catch(() => undefined);
	}
}

/** True when a PostgreSQL answers there with these credentials. */
export async function postgresAnswers(n8nDir: string, target = LOCAL_POSTGRES): Promise<boolean> {
	return await withClient(n8nDir, target, async () => true).catch(() => false);
}

const validName = (name: string) => {
	if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
		throw new Error(`database name '${name}' must be lower-case letters, digits and _`);
	}
	return name;
};

/** Creates the database unless it exists; answers whether it was created now. */
export async function ensureDatabase(
	n8nDir: string,
	name: string,
	target = LOCAL_POSTGRES,
): Promise<boolean> {
	return await withClient(n8nDir, target, async (client) => {
		const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
		if (found.rows.length > 0) return false;
		await client.query(`CREATE DATABASE "${validName(name)}"`);
		return true;
	});
}

export async function dropDatabase(
	n8nDir: string,
	name: string,
	target = LOCAL_POSTGRES,
): Promise<void> {
	await withClient(n8nDir, target, async (client) => {
		await client.query(`DROP DATABASE IF EXISTS "${validName(name)}" WITH (FORCE)`);
	});
}
