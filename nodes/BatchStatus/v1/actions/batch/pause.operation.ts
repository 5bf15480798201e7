import { batchRoute } from './batch-request';

export const option = {
	name: 'Pause',
	action: 'Pause a batch',
	description: 'Stop dispatching new chunks until resumed; chunks in flight finish',
};

export const { description, execute } = batchRoute('POST', '/pause');
