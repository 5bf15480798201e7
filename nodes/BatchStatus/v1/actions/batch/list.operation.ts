import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';

import { checkNumber } from '../../../../shared/parameters';
import { runPerItem, type ReadItem } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';

const show = { show: { operation: ['list'] } };

export const option = {
	name: 'List',
	action: 'List batches',
	description: 'Batches newest first, optionally in one state',
};

/** Bounds Return All: at 100 a page, 10,000 batches. */
const MAX_PAGES = 100;

export const description: INodeProperties[] = [
	{
		displayName: 'State',
		name: 'state',
		type: 'options',
		default: '',
		options: [
			{ name: 'Aborted', value: 'aborted' },
			{ name: 'All States', value: '' },
			{ name: 'Cancelled', value: 'cancelled' },
			{ name: 'Completed', value: 'completed' },
			{ name: 'Completed With Errors', value: 'completed_with_errors' },
			{ name: 'Open', value: 'open' },
			{ name: 'Paused', value: 'paused' },
			{ name: 'Running', value: 'running' },
		],
		description: 'Only batches in this state',
		displayOptions: show,
	},
	{
		displayName: 'Return All',
		name: 'returnAll',
		type: 'boolean',
		default: false,
		description: 'Whether to return all results or only up to a given limit',
		displayOptions: show,
	},
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['list'], returnAll: [false] } },
	},
];

interface ListAnswer {
	batches: IDataObject[];
	nextCursor?: string | null;
}

interface ListItem extends ReadItem {
	state: string;
	returnAll: boolean;
	limit: number;
}

function readList(this: IExecuteFunctions, itemIndex: number): ListItem {
	const returnAll = this.getNodeParameter('returnAll', itemIndex, false) as boolean;
	const limit = returnAll
		? 100
		: checkNumber.call(
				this,
				this.getNodeParameter('limit', itemIndex, 50),
				'Limit',
				{ min: 1, max: 100 },
				itemIndex,
			);
	return {
		itemIndex,
		state: this.getNodeParameter('state', itemIndex, '') as string,
		returnAll,
		limit,
	};
}

/** Batches, newest first, one output item each. */
async function list(
	this: IExecuteFunctions,
	{ itemIndex, state, returnAll, limit }: ListItem,
): Promise<IDataObject[]> {
	const batches: IDataObject[] = [];
	let cursor: string | undefined;
	for (let page = 0; page < MAX_PAGES; page++) {
		const qs: IDataObject = { limit };
		if (state) qs.state = state;
		if (cursor) qs.cursor = cursor;
		const answer = await serviceRequest<ListAnswer>(this, 'GET', '/v1/batches', { qs, itemIndex });
		batches.push(...(answer.batches ?? []));
		cursor = answer.nextCursor ?? undefined;
		if (!returnAll || !cursor) break;
	}
	return returnAll ? batches : batches.slice(0, limit);
}

export async function execute(this: IExecuteFunctions) {
	return await runPerItem(this, readList, list);
}
