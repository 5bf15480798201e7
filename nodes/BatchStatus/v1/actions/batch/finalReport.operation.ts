import { batchRoute } from './batch-request';

export const option = {
	name: 'Final Report',
	action: 'Get the final report of a batch',
	description: 'Summary, error categories with samples, and remediation advice',
};

/** The BatchJobResult shape: summary, error categories, samples, remediation. */
export const { description, execute } = batchRoute('GET', '/report');
