import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { optionalId } from '../../../../shared/parameters';
import { runPerItem } from '../../../../shared/run-items';
import { batchRequest, readBatchItem, type BatchItem } from './batch-request';

export const option = {
	name: 'Retry Dead Letters',
	action: 'Retry the dead letters of a batch',
	description: 'Put dead-lettered items (all, or one error class) back to pending',
};

export const description: INodeProperties[] = [
	{
		displayName: 'Error Class',
		name: 'errorClass',
		type: 'string',
		default: '',
		placeholder: 'e.g. http_503',
		description:
			'Retry only dead letters of this class (see errorClasses in Get); empty retries them all',
		displayOptions: { show: { operation: ['retryDeadLetters'] } },
	},
];

interface RetryItem extends BatchItem {
	errorClass?: string;
}

function readRetry(this: IExecuteFunctions, itemIndex: number): RetryItem {
	const errorClass = optionalId.call(this, 'errorClass', 'Error Class', itemIndex);
	return { ...readBatchItem.call(this, itemIndex), errorClass };
}

/** Puts dead-lettered items (all, or one error class) back to pending; the batch runs again. */
async function retryDeadLetters(this: IExecuteFunctions, item: RetryItem): Promise<IDataObject> {
	const body = item.errorClass ? { errorClass: item.errorClass } : {};
	const answer = await batchRequest.call(this, item, 'POST', '/dead-letters/retry', body);
	return { errorClass: item.errorClass ?? null, ...answer };
}

export async function execute(this: IExecuteFunctions) {
	return await runPerItem(this, readRetry, retryDeadLetters);
}
