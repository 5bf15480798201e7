/**
 * The one place that names Redis keys: `<prefix>:<kind>:{<id>}[:<part>]`.
 * The `{...}` hash tag keeps every key of one batch (or one limiter) in the same Redis Cluster
 * slot, so the Lua script that changes a batch atomically may touch all of them; BullMQ's prefix
 * carries a hash tag of its own for the same reason (its scripts touch several keys of a queue).
 */

/**
 * Every key of one batch, in the order the batch scripts receive them in KEYS. The script loader
 * turns this list into the `K` table of `lua/includes/batch.lua`, so Lua and TypeScript agree.
 */
export const BATCH_KEY_PARTS = [
	/** hash: settings, state, counters */
	'',
	/** hash: item key -> item JSON as submitted */
	'items',
	/** list: item keys in arrival order; chunks are ranges of it */
	'order',
	/** list: UTF-8 size of each item's JSON, parallel to `order` (chunks are cut by bytes too) */
	'sizes',
	/** hash: item key -> packed item state (status, attempts, chunk, lease, due, ...) */
	'item',
	/** hash: chunk index -> packed chunk (range, items left, generation, started) */
	'chunks',
	/** hash: lease id -> chunk and item keys of the attempt it covers */
	'leases',
	/** zset: lease id -> expiry; expired leases are settled by the in-doubt policy */
	'lease-exp',
	/** hash: lease id -> what the dispatch learned when its POST got no answer (JSON) */
	'lease-notes',
	/** zset: dispatch lease -> expiry; one member per concurrency slot in use */
	'slots',
	/** set: chunk indexes whose job is parked (paused, or no free slot) */
	'parked',
	/** hash: chunk index -> generation, for chunks whose BullMQ job is not known to exist yet */
	'unqueued',
	/** hash: item key -> dead letter (JSON) */
	'dead',
	/** zset: item key -> time it died, for listing in order */
	'dead-order',
	/** hash: error class -> dead letters of that class */
	'dead-classes',
	/** hash: error class -> failures (transient ones included, give-backs excluded) */
	'errors',
	/** hash: error class -> up to three samples (JSON) */
	'samples',
	/** hash: unix second -> items finished in it, for items/s */
	'rate',
	/** hash: upload page id -> its answer, so a page re-sent after a lost answer counts once */
	'pages',
	/** list: notices (milestones, completion) not yet delivered, oldest first (JSON) */
	'outbox',
	/** hash: chunk index -> its latest n8n executions (JSON) */
	'executions',
] as const;
export type BatchKeyPart = (typeof BATCH_KEY_PARTS)[number];

export class Keys {
	constructor(readonly prefix: string) {}

	/** BullMQ's prefix: a hash tag of its own keeps each queue's keys in one cluster slot. */
	get bullPrefix(): string {
		return `{${this.prefix}:bull}`;
	}

	batch(batchId: string): string {
		return `${this.prefix}:batch:{${batchId}}`;
	}

	batchPart(batchId: string, part: BatchKeyPart): string {
		return part === '' ? this.batch(batchId) : `${this.batch(batchId)}:${part}`;
	}

	/** Every key of a batch, in BATCH_KEY_PARTS order: what each batch script gets as KEYS. */
	batchKeys(batchId: string): string[] {
		return BATCH_KEY_PARTS.map((part) => this.batchPart(batchId, part));
	}

	/** Pub/sub channel a batch's scripts publish its state on after every change. */
	batchEvents(batchId: string): string {
		return `${this.batch(batchId)}:events`;
	}

	/** Pattern matching every batch's events channel; the batch id sits between the braces. */
	batchEventsPattern(): string {
		return `${this.prefix}:batch:{*}:events`;
	}

	/** zset: every batch id by creation time (List reads it). Written before the batch itself. */
	batchIndex(): string {
		return `${this.prefix}:batches`;
	}

	/** zset: batches not yet finished (or with notices still to send); the sweep walks it. */
	activeBatches(): string {
		return `${this.prefix}:batches:active`;
	}

	limiter(limiterKey: string): string {
		return `${this.prefix}:limiter:{${limiterKey}}`;
	}

	limiterPart(limiterKey: string, part: string): string {
		return `${this.prefix}:limiter:{${limiterKey}}:${part}`;
	}

	cursor(name: string): string {
		return `${this.prefix}:cursor:{${name}}`;
	}

	breaker(targetDigest: string): string {
		return `${this.prefix}:breaker:{${targetDigest}}`;
	}

	/** hash: lower-cased address -> why it is suppressed (JSON); later direct batches skip it. */
	suppressions(): string {
		return `${this.prefix}:suppressions`;
	}
}
