import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { pageId } from '../../../shared/contract';
import { setExecutionCustomData } from '../../../shared/custom-data';
import { serviceRequest } from '../../../shared/transport';
import type { BatchSettings } from './batch-settings';
import { toPages, type BatchItem } from './pages';

interface BatchAnswer extends IDataObject {
	batchId: string;
	created?: boolean;
	state?: string;
	sealed?: boolean;
	counts?: IDataObject;
	meta?: IDataObject;
}

interface PageAnswer {
	accepted?: number;
	duplicates?: number;
	skipped?: number;
}

export interface Submitted {
	/** What Submit Batch outputs: the batch, its counts and what this run uploaded. */
	summary: IDataObject & { batchId: string };
	/** Whether every item is in; a batch left open takes more pages (Ranges until a short page). */
	sealed: boolean;
}

export const batchPath = (batchId: string, suffix = '') =>
	`/v1/batches/${encodeURIComponent(batchId)}${suffix ? `/${suffix}` : ''}`;

/**
 * Creates the batch (idempotent by key), uploads the items in pages unless an earlier run sealed
 * it, and seals it (unless `seal` is false). A re-run with the same key adds only what is missing.
 */
export async function submit(
	this: IExecuteFunctions,
	settings: BatchSettings,
	items: BatchItem[],
	pageSize: number,
	options: { seal?: boolean } = {},
): Promise<Submitted> {
	const batch = await serviceRequest<BatchAnswer>(this, 'POST', '/v1/batches', {
		body: settings,
		itemIndex: 0,
	});
	const path = batchPath(batch.batchId);
	setExecutionCustomData(this, { batchId: batch.batchId });
	// Only `sealed` says every item is in: a paused batch that was never sealed still lacks some.
	const sealedBefore = batch.sealed === true;
	let accepted = 0;
	let duplicates = 0;
	let pages = 0;
	if (!sealedBefore) {
		for (const page of toPages(items, pageSize)) {
			const body = {
				pageId: pageId(
					pages,
					page.map((item) => item.key),
				),
				items: page,
			};
			const answer = await serviceRequest<PageAnswer>(this, 'POST', `${path}/items`, {
				body,
				itemIndex: 0,
				timeout: 120_000,
			});
			pages++;
			accepted += answer.accepted ?? 0;
			duplicates += answer.duplicates ?? answer.skipped ?? 0;
		}
	}
	const seal = options.seal ?? true;
	const sealed = seal
		? await serviceRequest<BatchAnswer>(this, 'POST', `${path}/seal`, { itemIndex: 0 })
		: batch;
	const summary = {
		batchId: batch.batchId,
		batchKey: settings.batchKey,
		created: batch.created ?? true,
		state: sealed.state ?? batch.state ?? null,
		counts: sealed.counts ?? batch.counts ?? null,
		items: items.length,
		accepted,
		duplicates,
		pages,
		// The first run's metadata: a re-run with the same key gets the plan it continues.
		...(settings.meta ? { meta: batch.meta ?? settings.meta } : {}),
		...(sealedBefore
			? { note: 'This batch was sealed by an earlier run; no items were added' }
			: {}),
	};
	return { summary, sealed: seal || sealedBefore };
}
