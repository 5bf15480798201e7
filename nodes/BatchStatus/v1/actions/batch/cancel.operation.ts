import { batchRoute } from './batch-request';

export const option = {
	name: 'Cancel',
	action: 'Cancel a batch',
	description: 'Drop queued chunks; chunks in flight finish. Cannot be undone.',
};

export const { description, execute } = batchRoute('POST', '/cancel');
