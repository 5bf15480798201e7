import type { IDataObject } from 'n8n-workflow';

import { MAX_ITEM_BYTES } from '../../../shared/contract';

export interface BatchItem extends IDataObject {
	key: string;
	json: IDataObject;
}

/** About 1 MB of JSON per upload request, well under the service's body limit. */
export const PAGE_BYTE_BUDGET = MAX_ITEM_BYTES;

/** UTF-8 length without Buffer, so the count matches what goes over the wire. */
export function utf8Length(text: string): number {
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const code = text.charCodeAt(i);
		if (code < 0x80) bytes += 1;
		else if (code < 0x800) bytes += 2;
		else if (code >= 0xd800 && code <= 0xdbff) {
			bytes += 4;
			i++;
		} else bytes += 3;
	}
	return bytes;
}

/** Size of one item as it appears in a page body (plus its separating comma). */
export const itemBytes = (item: BatchItem) => utf8Length(JSON.stringify(item)) + 1;

/**
 * Splits items into upload pages bounded by an item count and a byte budget. An item alone over
 * the budget still gets its own page: the caller rejects such items before paging.
 */
export function toPages(items: BatchItem[], maxItems: number, maxBytes = PAGE_BYTE_BUDGET) {
	const pages: BatchItem[][] = [];
	let page: BatchItem[] = [];
	let bytes = 0;
	for (const item of items) {
		const size = itemBytes(item);
		if (page.length > 0 && (page.length >= maxItems || bytes + size > maxBytes)) {
			pages.push(page);
			page = [];
			bytes = 0;
		}
		page.push(item);
		bytes += size;
	}
	if (page.length > 0) pages.push(page);
	return pages;
}
