import { batchRoute } from './batch-request';

export const option = {
	name: 'Get',
	action: 'Get the progress of a batch',
	description: 'Counts, percent, items per second, ETA and state of one batch',
};

/** Progress as the service reports it, itemsPerSecond included (nothing is computed here). */
export const { description, execute } = batchRoute('GET');
