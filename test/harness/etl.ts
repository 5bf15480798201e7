/**
 * The ETL templates (workflows/etl-*.json) in a real n8n against a scratch PostgreSQL database:
 * the source and target tables, a write log filled by a trigger on the target, and the checks
 * the e2e tests and benchmarks share.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { N8nApi, WorkflowJson } from '../../scripts/lib/n8n/api';
import type { PgClient } from './postgres';

export const SOURCE_DDL = `
CREATE TABLE etl_source (id bigint PRIMARY KEY, name text, amount numeric,
  updated_at timestamptz NOT NULL DEFAULT now());
CREATE INDEX ON etl_source (updated_at);
CREATE TABLE etl_target (id bigint PRIMARY KEY, name text, amount numeric, updated_at timestamptz);
-- Every write to the target, in order: how often each row was written, and when.
CREATE TABLE etl_target_log (seq bigserial PRIMARY KEY, id bigint NOT NULL, op text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp());
CREATE FUNCTION etl_target_logged() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO etl_target_log (id, op) VALUES (NEW.id, TG_OP);
  RETURN NEW;
END $$;
CREATE TRIGGER etl_target_log AFTER INSERT OR UPDATE ON etl_target
  FOR EACH ROW EXECUTE FUNCTION etl_target_logged();
`;

/** Source rows 1..rows, each with its own microsecond updated_at (in the past). */
export async function createEtlTables(client: PgClient, rows: number): Promise<void> {
	await client.query(SOURCE_DDL);
	await client.query(
		`INSERT INTO etl_source (id, name, amount, updated_at)
		 SELECT n, ' name ' || n, round((n * 1.37)::numeric, 2),
		        now() - interval '1 day' + n * interval '1 microsecond' * 7
		 FROM generate_series(1, $1::int) AS n`,
		[rows],
	);
}

/** Rows that differ between source and target, either side missing included. */
export async function tableDifferences(client: PgClient): Promise<number> {
	const { rows } = await client.query<{ n: string }>(
		`SELECT count(*) AS n FROM etl_source s FULL JOIN etl_target t USING (id)
		 WHERE s.id IS NULL OR t.id IS NULL
		    OR (trim(s.name), s.amount, s.updated_at) IS DISTINCT FROM (t.name, t.amount, t.updated_at)`,
	);
	return Number(rows[0].n);
}

/** How often each target row was written, for the ids that match `where` (on the log). */
export async function writesPerRow(
	client: PgClient,
	where = 'true',
	values: unknown[] = [],
): Promise<Map<number, number>> {
	const { rows } = await client.query<{ id: string; n: string }>(
		`SELECT id, count(*) AS n FROM etl_target_log WHERE ${where} GROUP BY id`,
		values,
	);
	return new Map(rows.map((row) => [Number(row.id), Number(row.n)]));
}

export interface EtlCredentials {
	service: { id: string; name: string };
	postgres: { id: string; name: string };
}

type TemplateNode = {
	name: string;
	type: string;
	parameters: Record<string, unknown>;
	credentials?: Record<string, { id: string; name: string }>;
};

/** A shipped template, pointed at this n8n's credentials; `patch` adjusts nodes for a test. */
export function etlTemplate(
	file: string,
	credentials: EtlCredentials,
	patch: (node: TemplateNode) => void = () => undefined,
): WorkflowJson {
	const json = JSON.parse(
		readFileSync(join(__dirname, '../../workflows', file), 'utf8'),
	) as WorkflowJson;
	for (const node of json.nodes as TemplateNode[]) {
		if (node.credentials?.batchGuardianApi) node.credentials.batchGuardianApi = credentials.service;
		if (node.credentials?.postgres) node.credentials.postgres = credentials.postgres;
		patch(node);
	}
	return json;
}

/** Creates the service and PostgreSQL credentials in n8n under the names the templates use. */
export async function etlCredentials(
	n8n: N8nApi,
	service: { url: string; apiKey: string },
	postgres: Record<string, unknown>,
): Promise<EtlCredentials> {
	const serviceName = 'Batch Guardian (local)';
	const postgresName = 'Local PostgreSQL';
	return {
		service: {
			name: serviceName,
			id: await n8n.createCredential({
				name: serviceName,
				type: 'batchGuardianApi',
				data: { baseUrl: service.url, apiKey: service.apiKey },
			}),
		},
		postgres: {
			name: postgresName,
			id: await n8n.createCredential({ name: postgresName, type: 'postgres', data: postgres }),
		},
	};
}
