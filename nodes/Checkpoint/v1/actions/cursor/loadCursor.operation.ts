import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError } from 'n8n-workflow';

import { asNodeError, runItems, type ItemOutcome } from '../../../../shared/run-items';
import { serviceRequest } from '../../../../shared/transport';
import {
	byCursor,
	checkedCursor,
	cursorOutput,
	cursorPath,
	readCursorItem,
	type CursorAnswer,
	type CursorItem,
} from '../../helpers/cursor-fields';

const show = { show: { operation: ['loadCursor'] } };

export const option = {
	name: 'Load Cursor',
	action: 'Load a named cursor',
	description:
		'Read a durable value (e.g. the highest updated_at exported) with its version; a damaged value is refused',
};

export const description: INodeProperties[] = [
	{
		displayName: 'When Missing',
		name: 'whenMissing',
		type: 'options',
		default: 'initial',
		options: [
			{
				name: 'Use the Initial Value',
				value: 'initial',
				description: 'The first run of a job: the initial value at version 0',
			},
			{ name: 'Fail', value: 'fail', description: 'Stop: the cursor must exist' },
		],
		description: 'What to do before the first Save Cursor of this name',
		displayOptions: show,
	},
	{
		displayName: 'Initial Value',
		name: 'initialValue',
		type: 'string',
		default: '',
		placeholder: 'e.g. 1970-01-01T00:00:00Z',
		description:
			'The value before the first save; an expression may give a number or an object, e.g. {{ 0 }}',
		displayOptions: { show: { operation: ['loadCursor'], whenMissing: ['initial'] } },
	},
];

interface LoadItem extends CursorItem {
	initial?: { value: unknown };
}

function readLoadItem(this: IExecuteFunctions, itemIndex: number): LoadItem {
	const item: LoadItem = readCursorItem.call(this, itemIndex);
	if (this.getNodeParameter('whenMissing', itemIndex, 'initial') === 'initial') {
		item.initial = { value: this.getNodeParameter('initialValue', itemIndex, '') ?? null };
	}
	return item;
}

const isMissing = (error: unknown) => error instanceof NodeApiError && error.httpCode === '404';

/** Load Cursor: one request per cursor name; each item gets the cursor in its output field. */
export async function execute(this: IExecuteFunctions) {
	return await runItems(this, {
		read: readLoadItem,
		groupBy: byCursor,
		async run(group: LoadItem[]): Promise<ItemOutcome[]> {
			const { name, itemIndex: first } = group[0];
			let loaded: IDataObject | undefined;
			try {
				const answer = await serviceRequest<CursorAnswer>(this, 'GET', cursorPath(name), {
					itemIndex: first,
				});
				loaded = cursorOutput(checkedCursor.call(this, answer, first));
			} catch (error) {
				// Not there yet is an answer (the first run of a job); anything else stops the item.
				if (!isMissing(error)) throw asNodeError(this, error, first);
			}
			return group.map(({ field, initial }): ItemOutcome => {
				if (loaded) return { add: { [field]: loaded } };
				if (!initial) {
					return {
						error: new NodeApiError(
							this.getNode(),
							{ message: 'not found' },
							{
								message: `No cursor named '${name}' yet`,
								description:
									"Save Cursor creates it. Set 'When Missing' to 'Use the Initial Value' for a job's first run.",
								httpCode: '404',
							},
						),
					};
				}
				const value = initial.value as IDataObject;
				return { add: { [field]: { name, value, version: 0, found: false, updatedAt: null } } };
			});
		},
	});
}
