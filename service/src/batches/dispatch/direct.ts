import type { BatchSettings } from '../state/reads';
import type { ItemResult, LeasedItem } from '../state/commands';

/**
 * Direct delivery: the service itself sends each item of a dispatch (e.g. as an e-mail over SMTP)
 * instead of POSTing the chunk to a worker webhook. The dispatcher leases the items; the sender
 * marks each item right before its transaction opens and records each outcome as it learns it, so
 * a crash leaves in doubt only the items inside an open transaction, and items it never marked go
 * back without spending their attempt.
 */
export interface DirectDispatch {
	settings: BatchSettings;
	chunkIndex: number;
	lease: string;
	items: LeasedItem[];
	/** performance.now() instant when the lease ends: start no transaction that could outlive it. */
	deadline: number;
	/** Aborted when the service shuts down: finish open transactions, start no new ones. */
	signal: AbortSignal;
}

export interface DirectHooks {
	/**
	 * Marks items as about to be sent (their transactions open next); answers the keys still
	 * leased by this dispatch and unreported, the only ones it may send.
	 */
	beforeSend(keys: string[]): Promise<string[]>;
	/** Records outcomes (succeeded, failed with class/code, released to retry later). */
	record(results: ItemResult[]): Promise<void>;
}

export interface DirectSender {
	/** Sends what it can of the dispatch; resolves when no transaction of it is open any more. */
	deliver(dispatch: DirectDispatch, hooks: DirectHooks): Promise<void>;
}
