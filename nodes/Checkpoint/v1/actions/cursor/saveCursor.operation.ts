import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { MAX_CURSOR_BYTES } from '../../../../shared/contract';
import { claimId, executionRef } from '../../../../shared/custom-data';
import { checkNumber } from '../../../../shared/parameters';
import { runItems, type ItemOutcome } from '../../../../shared/run-items';
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

const show = { show: { operation: ['saveCursor'] } };

export const option = {
	name: 'Save Cursor',
	action: 'Save a named cursor',
	description:
		'Store a new value from the version this run loaded; a stale version (another run saved first) is refused',
};

export const description: INodeProperties[] = [
	{
		displayName: 'Value',
		name: 'cursorValue',
		type: 'string',
		default: '',
		placeholder: 'e.g. {{ $json.maxUpdatedAt }}',
		description: 'The new position: text, a number or an object (any JSON, up to 64 KB)',
		displayOptions: show,
	},
	{
		displayName: 'Expected Version',
		name: 'expectedVersion',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description:
			"The version Load Cursor gave this run (0 before the first save): map it from Load Cursor's output (cursor.version), e.g. with an expression. If the cursor is at another version, another run saved it first, and this save is refused: the cursor never moves backwards.",
		displayOptions: show,
	},
];

interface SaveItem extends CursorItem {
	value: unknown;
	expectedVersion: number;
}

function readSaveItem(this: IExecuteFunctions, itemIndex: number): SaveItem {
	const item = readCursorItem.call(this, itemIndex);
	const value = this.getNodeParameter('cursorValue', itemIndex, '') as unknown;
	if (value === undefined || value === '') {
		throw new NodeOperationError(this.getNode(), "'Value' is empty", {
			itemIndex,
			description: 'Give the new position, e.g. {{ $json.maxUpdatedAt }}.',
		});
	}
	const bytes = JSON.stringify(value)?.length ?? 0;
	if (bytes > MAX_CURSOR_BYTES) {
		throw new NodeOperationError(
			this.getNode(),
			`'Value' is ${bytes} characters of JSON, over the ${MAX_CURSOR_BYTES} a cursor holds`,
			{ itemIndex, description: 'Save a position (an id, a timestamp), not data.' },
		);
	}
	const expectedVersion = checkNumber.call(
		this,
		this.getNodeParameter('expectedVersion', itemIndex, 0),
		'Expected Version',
		{ min: 0, max: Number.MAX_SAFE_INTEGER },
		itemIndex,
	);
	return { ...item, value, expectedVersion };
}

/**
 * Save Cursor: one save per cursor name. Two items saving the same cursor in one run would race
 * each other, so the second is refused (aggregate first, e.g. the highest value).
 */
export async function execute(this: IExecuteFunctions) {
	return await runItems(this, {
		read: readSaveItem,
		groupBy: byCursor,
		async run(group: SaveItem[]): Promise<ItemOutcome[]> {
			const { name, value, expectedVersion, itemIndex: first } = group[0];
			const body: IDataObject = {
				value: value as IDataObject,
				expectedVersion,
				execution: executionRef(this),
			};
			const saveId = claimId(this, ['save-cursor', name]);
			if (saveId) body.saveId = saveId;
			const answer = await serviceRequest<CursorAnswer>(this, 'PUT', cursorPath(name), {
				body,
				itemIndex: first,
			});
			const saved = cursorOutput(checkedCursor.call(this, answer, first));
			return group.map(({ field, itemIndex }, position): ItemOutcome => {
				if (position === 0) return { add: { [field]: saved } };
				return {
					error: new NodeOperationError(
						this.getNode(),
						`Item ${itemIndex} saves cursor '${name}' again in the same run`,
						{
							itemIndex,
							description:
								'One save per cursor per run: item ' +
								`${first} saved it. Aggregate first (e.g. Summarize: the highest value), then save once.`,
						},
					),
				};
			});
		},
	});
}
