import { createHash } from 'node:crypto';
import type { IDataObject, IExecuteFunctions, INodeProperties } from 'n8n-workflow';
import { NodeApiError, NodeOperationError, type JsonObject } from 'n8n-workflow';

import { cursorChecksumText } from '../../../shared/contract';
import { requireId } from '../../../shared/parameters';
import type { ReadItem } from '../../../shared/run-items';

/** What the service answers for a cursor (GET and PUT /v1/cursors/:name). */
export interface CursorAnswer extends IDataObject {
	name: string;
	value: IDataObject | string | number | boolean | null;
	version: number;
	checksum: string;
	updatedAt: string;
	savedBy: string | null;
}

export const cursorPath = (name: string) => `/v1/cursors/${encodeURIComponent(name)}`;

/** Cursor Name and the output field, shared by Save Cursor and Load Cursor. */
export const cursorFieldProperties = (operations: string[]): INodeProperties[] => {
	const displayOptions = { show: { operation: operations } };
	return [
		{
			displayName: 'Cursor Name',
			name: 'cursorName',
			type: 'string',
			required: true,
			default: '',
			placeholder: 'e.g. orders-export',
			description:
				'Names the durable value, e.g. one per incremental job and source table. Same name, same cursor, across executions and workflows.',
			displayOptions,
		},
		{
			displayName: 'Put Cursor In',
			name: 'cursorField',
			type: 'string',
			default: 'cursor',
			description:
				'Field added to each item with { name, value, version, found, updatedAt }; Save Cursor reads the version to save from it by default',
			displayOptions,
		},
	];
};

export interface CursorItem extends ReadItem {
	name: string;
	field: string;
}

export function readCursorItem(this: IExecuteFunctions, itemIndex: number): CursorItem {
	const field = String(this.getNodeParameter('cursorField', itemIndex, 'cursor')).trim();
	if (field === '') {
		throw new NodeOperationError(this.getNode(), "'Put Cursor In' is empty", {
			itemIndex,
			description: 'Name a field for the cursor, e.g. cursor.',
		});
	}
	return { itemIndex, name: requireId.call(this, 'cursorName', 'Cursor Name', itemIndex), field };
}

/**
 * The checksum the service sent, taken again over what arrived: a value damaged on the way (or
 * by a proxy) is refused here too, never used.
 */
export function checkedCursor(
	this: IExecuteFunctions,
	answer: CursorAnswer,
	itemIndex: number,
): CursorAnswer {
	const text = cursorChecksumText(answer.name, answer.version, JSON.stringify(answer.value));
	const checksum = createHash('sha256').update(text).digest('hex');
	if (checksum !== answer.checksum) {
		throw new NodeApiError(
			this.getNode(),
			{ message: 'checksum mismatch', code: 'cursor_corrupt' } as JsonObject,
			{
				message: `Cursor '${answer.name}' arrived damaged: its value does not match its checksum`,
				description:
					'The value is not used. Check what sits between n8n and the Batch Guardian service (a proxy rewriting bodies?), then run again.',
				itemIndex,
			},
		);
	}
	return answer;
}

/** The field added to items: the cursor as loaded or saved. */
export const cursorOutput = (answer: CursorAnswer, found = true): IDataObject => ({
	name: answer.name,
	value: answer.value,
	version: answer.version,
	found,
	updatedAt: answer.updatedAt,
	checksum: answer.checksum,
});

/** Items naming the same cursor share one request. */
export const byCursor = (item: CursorItem) => item.name;
