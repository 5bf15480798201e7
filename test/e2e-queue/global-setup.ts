import e2eGlobalSetup from '../e2e/global-setup';

/**
 * The e2e stack with n8n in queue mode: a main process and two workers (`n8n worker`), n8n's
 * database on the local PostgreSQL and its Bull queue on the run's Redis. Every workflow of the
 * tests this project picks (jest.config.js) then runs on a worker; BG_E2E_N8N_WORKERS overrides
 * the count.
 */
export default async function globalSetup(): Promise<void> {
	process.env.BG_E2E_N8N_WORKERS ||= '2';
	await e2eGlobalSetup();
}
