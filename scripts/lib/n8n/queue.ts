/**
 * n8n's queue mode: a main process, workers (`n8n worker`) and optional webhook processors
 * (`n8n webhook`), sharing a PostgreSQL database, a Redis (Bull queue and pub/sub, under a key
 * prefix of their own) and one encryption key. Env names checked in n8n 2.41.1's @n8n/config.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { freePort } from '../process';
import { deletePrefixedKeys } from '../redis-keys';
import { dropDatabase, ensureDatabase, LOCAL_POSTGRES, type PostgresTarget } from './postgres';

export interface QueueModeOptions {
	workers: number;
	/** `n8n webhook` processes, each on a port of its own; default 0. */
	webhookProcessors?: number;
	/** The Redis for n8n's Bull queue and pub/sub (host, port, db and password are taken). */
	redisUrl: string;
	/** Key prefix in that Redis; default a fresh `bg-n8n-<hex>`, whose keys are deleted on stop. */
	prefix?: string;
	/** n8n's database; default the local PostgreSQL and a fresh `bg_n8n_<hex>`, dropped on stop. */
	postgres?: Partial<PostgresTarget> & { database?: string };
	/** Executions one worker runs at once (n8n's default is 10). */
	concurrency?: number;
	/** Workers log each execution they start at info: the way to tell who ran what. */
	workerLogLevel?: string;
}

export interface QueueSetup {
	/** Env shared by every process of the deployment. */
	env: NodeJS.ProcessEnv;
	database: string;
	prefix: string;
	/** Drops what was made for this run only (a generated database and prefix). */
	cleanup(): Promise<void>;
}

/** Creates the database if needed and returns the settings every process gets. */
export async function prepareQueueMode(
	options: QueueModeOptions,
	n8nDir: string,
	encryptionKey: string,
): Promise<QueueSetup> {
	const suffix = randomBytes(4).toString('hex');
	const target = { ...LOCAL_POSTGRES, ...options.postgres };
	const database = options.postgres?.database ?? `bg_n8n_${suffix}`;
	const prefix = options.prefix ?? `bg-n8n-${suffix}`;
	await ensureDatabase(n8nDir, database, target);
	const redis = new URL(options.redisUrl);
	const env: NodeJS.ProcessEnv = {
		EXECUTIONS_MODE: 'queue',
		// Runs editor ("manual") executions on workers too, so main executes nothing itself.
		OFFLOAD_MANUAL_EXECUTIONS_TO_WORKERS: 'true',
		N8N_ENCRYPTION_KEY: encryptionKey,
		DB_TYPE: 'postgresdb',
		DB_POSTGRESDB_HOST: target.host,
		DB_POSTGRESDB_PORT: String(target.port),
		DB_POSTGRESDB_USER: target.user,
		DB_POSTGRESDB_PASSWORD: target.password,
		DB_POSTGRESDB_DATABASE: database,
		QUEUE_BULL_REDIS_HOST: redis.hostname,
		QUEUE_BULL_REDIS_PORT: redis.port || '6379',
		QUEUE_BULL_REDIS_DB: redis.pathname.replace('/', '') || '0',
		QUEUE_BULL_REDIS_PASSWORD: decodeURIComponent(redis.password),
		QUEUE_BULL_PREFIX: prefix,
		// Pub/sub channels and the cache live under this one; two deployments must not share it.
		N8N_REDIS_KEY_PREFIX: prefix,
	};
	const cleanup = async () => {
		if (!options.postgres?.database) await dropDatabase(n8nDir, database, target);
		if (!options.prefix) await deletePrefixedKeys(options.redisUrl, prefix);
	};
	return { env, database, prefix, cleanup };
}

/**
 * The key n8n encrypts credentials with: the one in `.n8n/config` when this folder has run n8n
 * before (a different key would make its saved credentials unreadable), else a new one, written
 * there the way n8n writes it.
 */
export function encryptionKeyOf(userFolder: string, fromEnv?: string): string {
	const file = join(userFolder, '.n8n', 'config');
	if (existsSync(file)) {
		const saved = (JSON.parse(readFileSync(file, 'utf8')) as { encryptionKey?: string })
			.encryptionKey;
		if (saved) return saved;
	}
	const key = fromEnv ?? randomBytes(24).toString('base64');
	mkdirSync(join(userFolder, '.n8n'), { recursive: true });
	writeFileSync(file, JSON.stringify({ encryptionKey: key }, null, '\t'), { mode: 0o600 });
	return key;
}

/**
 * A user folder for one worker or webhook processor. Each needs its own (n8n keeps a crash journal
 * and an event log there, and a second process would read the first's journal as a crash), but all
 * share the main's `.n8n/nodes`, so every process loads the same installed community package.
 */
export function processFolder(mainFolder: string, name: string, encryptionKey: string): string {
	const folder = join(mainFolder, 'processes', name);
	mkdirSync(join(folder, '.n8n'), { recursive: true });
	const nodes = join(folder, '.n8n', 'nodes');
	if (!existsSync(nodes)) symlinkSync(join(mainFolder, '.n8n', 'nodes'), nodes, 'dir');
	encryptionKeyOf(folder, encryptionKey);
	return folder;
}

/** Ports a worker (health) or webhook processor (HTTP) and its task-runner broker listen on. */
export async function processPorts(): Promise<{ http: number; broker: number }> {
	return { http: await freePort(), broker: await freePort() };
}
