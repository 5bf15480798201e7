import { batchRoute } from './batch-request';

export const option = {
	name: 'Resume',
	action: 'Resume a batch',
	description: 'Continue dispatching a paused batch',
};

export const { description, execute } = batchRoute('POST', '/resume');
