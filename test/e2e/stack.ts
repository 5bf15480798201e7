import type { Owner } from '../../scripts/lib/n8n/api';

/** Env var through which the global setup tells test files where the stack description is. */
export const STACK_ENV = 'BG_E2E_STACK';

/** What the e2e global setup started; written as JSON so workers (other processes) can read it. */
export interface StackInfo {
	runDir: string;
	tarball: string;
	redisUrl: string;
	n8n: {
		baseUrl: string;
		apiKey: string;
		owner: Owner;
		pid: number;
		userFolder: string;
		logFile: string;
		/** Queue-mode workers (BG_E2E_N8N_WORKERS); empty when n8n runs as one process. */
		workers: Array<{ name: string; pid: number; logFile: string }>;
	};
	service: {
		url: string;
		apiKey: string;
		keyPrefix: string;
		pid: number;
		logFile: string;
	};
}
