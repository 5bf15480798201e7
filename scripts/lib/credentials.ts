/**
 * The credentials `npm start` keeps in n8n for what runs on this machine: the companion service,
 * the local SMTP inbox and, when one answers, the local PostgreSQL. Each is created, or updated in
 * place by name, on every start, so a changed port or API key reaches it.
 */
import type { N8nApi } from './n8n/api';
import { LOCAL_POSTGRES, postgresAnswers } from './n8n/postgres';

export const SERVICE_CREDENTIAL = { type: 'batchGuardianApi', name: 'Batch Guardian (local)' };
export const SMTP_CREDENTIAL = { type: 'smtp', name: 'Local SMTP (maildev)' };
export const POSTGRES_CREDENTIAL = { type: 'postgres', name: 'Local PostgreSQL' };

export interface LocalCredential {
	type: string;
	name: string;
	id: string;
	/** What it points at, for the summary. */
	target: string;
}

export async function upsertLocalCredentials(
	n8n: N8nApi,
	local: {
		service: { url: string; apiKey: string };
		smtp?: { host: string; port: number };
		/** n8n's install folder, whose `pg` checks for a local PostgreSQL. */
		n8nDir: string;
		postgresDatabase: string;
	},
): Promise<LocalCredential[]> {
	const saved: LocalCredential[] = [];
	const upsert = async (credential: { type: string; name: string }, data: object, target: string) =>
		saved.push({ ...credential, target, id: await n8n.upsertCredential({ ...credential, data }) });

	await upsert(
		SERVICE_CREDENTIAL,
		{ baseUrl: local.service.url, apiKey: local.service.apiKey },
		local.service.url,
	);
	if (local.smtp) {
		const { host, port } = local.smtp;
		// maildev speaks plain SMTP: SSL/TLS off and no STARTTLS, no login.
		const data = { user: '', password: '', host, port, secure: false, disableStartTls: true };
		await upsert(SMTP_CREDENTIAL, data, `smtp://${host}:${port}`);
	}
	if (await postgresAnswers(local.n8nDir)) {
		const { host, port, user, password } = LOCAL_POSTGRES;
		const database = local.postgresDatabase;
		const data = { host, port, database, user, password, ssl: 'disable', sshTunnel: false };
		await upsert(POSTGRES_CREDENTIAL, data, `postgres://${user}@${host}:${port}/${database}`);
	}
	return saved;
}
