/**
 * The wire contract between the nodes and the companion service, written once. Plain TypeScript
 * with no imports: the node package (no runtime dependencies) and the service (its zod schemas)
 * both compile this file, and a unit test fails when either side strays from it.
 */

/** Batch ids, item keys, limiter keys and cursor names share one rule. */
export const ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
export const ID_RULE =
	'must be 1-128 characters: letters, digits, dot, underscore, colon or dash, starting with a letter or digit';

export interface NumberRange {
	default: number;
	min: number;
	max: number;
	integer: boolean;
	/** The label the nodes show for it; the service names the wire field. */
	label: string;
}

const range = (label: string, def: number, min: number, max: number, integer = true) =>
	({ label, default: def, min, max, integer }) satisfies NumberRange;

/** Every numeric batch setting: default, range, and the node's label for it. */
export const BATCH_LIMITS = {
	chunkSize: range('Chunk Size', 100, 1, 10_000),
	concurrency: range('Concurrency', 4, 1, 1000),
	maxAttempts: range('Max Attempts', 5, 1, 100),
	backoffInitialMs: range('Backoff Initial (ms)', 1000, 0, 86_400_000),
	backoffMaxMs: range('Backoff Max (ms)', 300_000, 0, 86_400_000),
	priority: range('Priority', 0, 0, 100),
	timeoutMs: range('Timeout (ms)', 120_000, 100, 3_600_000),
	failureRatio: range('Failure Threshold Ratio', 0, 0, 1, false),
	failureMinSample: range('Failure Threshold Minimum Sample', 100, 1, 1_000_000_000),
	adaptiveTargetSeconds: range('Target Seconds per Chunk', 30, 1, 3600, false),
	leaseMs: range('Lease (ms)', 60_000, 100, 86_400_000),
	/** Claim: lease at most this many items per call (0: no limit); the rest stay free. */
	claimMaxItems: range('Max Items', 0, 0, 10_000),
	retryAfterMs: range('Retry After (ms)', 0, 0, 86_400_000),
} as const;

/** Numeric limiter settings the nodes offer (the service's limits feature checks the same). */
export const LIMITER_LIMITS = {
	maxWaitMs: range('Max Wait (ms)', 60_000, 0, 600_000),
} as const;

/** Items per upload page and per Claim / Record Results request. */
export const MAX_ITEMS_PER_REQUEST = 10_000;
/** Largest JSON of one item (its `json`), in UTF-8 bytes; pages stay under about 1 MB. */
export const MAX_ITEM_BYTES = 1_000_000;
/** Nesting deeper than this is refused (400): real records are far shallower. */
export const MAX_JSON_DEPTH = 64;

/**
 * What happens to an item whose attempt never reported before its lease expired:
 * `retry` sends it again (at-least-once, right for sinks that honour idempotency keys);
 * `hold` sets it aside as a dead letter of class `in_doubt` for an operator (never sent twice).
 */
export const IN_DOUBT_POLICIES = ['retry', 'hold'] as const;
export type InDoubtPolicy = (typeof IN_DOUBT_POLICIES)[number];

export const BATCH_STATES = [
	'open',
	'running',
	'paused',
	'completed',
	'completed_with_errors',
	'aborted',
	'cancelled',
] as const;
export type BatchState = (typeof BATCH_STATES)[number];
export const TERMINAL_STATES: readonly BatchState[] = [
	'completed',
	'completed_with_errors',
	'aborted',
	'cancelled',
];

/** Why Claim passed an item to Skipped instead of handing it out. */
export const SKIP_REASONS = [
	'finished',
	'dead_lettered',
	'leased',
	'not_due',
	'unknown',
	'batch_finished',
	'batch_paused',
	/** Claim's maxItems was reached: the item is free, for another execution to take. */
	'over_max_items',
] as const;
export type SkipReason = (typeof SKIP_REASONS)[number];

/** Record Results: what became of an item. `released` gives it back unworked: no attempt spent. */
export const RESULT_STATUSES = ['succeeded', 'failed', 'released'] as const;
export type ResultStatus = (typeof RESULT_STATUSES)[number];

/** Error classes the service itself assigns (workers may send their own). */
export const ERROR_CLASSES = {
	timeout: 'timeout',
	connectionError: 'connection_error',
	leaseExpired: 'lease_expired',
	inDoubt: 'in_doubt',
	rateLimited: 'rate_limited',
	error: 'error',
} as const;

export const httpErrorClass = (status: number): string => `http_${status}`;

const TRANSIENT_STATUS = new Set([408, 425, 429]);

/** 408, 425, 429 and every 5xx are worth retrying; other 4xx are the request's own fault. */
export const isTransientStatus = (status: number): boolean =>
	TRANSIENT_STATUS.has(status) || status >= 500;

/** Messages that speak of a timeout or a broken connection: transient unless said otherwise. */
export const TRANSIENT_MESSAGE =
	/timed? ?out|timeout|ETIMEDOUT|ECONNRESET|ECONNREFUSED|EPIPE|EAI_AGAIN|socket hang up|connection (reset|refused|closed)|network/i;

/**
 * Retry-After as sent by HTTP servers: delta-seconds or an HTTP date. Answers milliseconds from
 * `now`, or undefined when absent or unreadable. Dates in the past answer 0.
 */
export function parseRetryAfter(value: unknown, now = Date.now()): number | undefined {
	if (typeof value === 'number')
		return Number.isFinite(value) && value >= 0 ? value * 1000 : undefined;
	if (typeof value !== 'string') return undefined;
	const text = value.trim();
	if (text === '') return undefined;
	if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
	const at = Date.parse(text);
	return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Refill units of a limiter, in milliseconds. */
export const REFILL_UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000 } as const;
export type RefillUnit = keyof typeof REFILL_UNIT_MS;

/** Header carrying the API key on every request to the service (`Authorization: Bearer` works too). */
export const API_KEY_HEADER = 'x-api-key';

/** Header carrying the shared secret on every POST the service makes to a worker. */
export const SECRET_HEADER = 'x-batch-guardian-secret';

/**
 * A short stable digest of text (two 32-bit FNV-1a style hashes, base 36): names upload pages so a page re-sent
 * after a lost answer is recognised. Not for security.
 */
export function digest(text: string): string {
	let h1 = 0x811c9dc5;
	let h2 = 0x01000193;
	for (let i = 0; i < text.length; i++) {
		const c = text.charCodeAt(i);
		h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
		h2 = Math.imul(h2 ^ c, 0x5bd1e995) >>> 0;
	}
	return `${h1.toString(36)}${h2.toString(36)}`;
}

/**
 * The id of an upload page: its index in the upload and a digest of its keys. Submit Batch sends
 * it with each page, so a page re-sent after a lost answer is recognised and not counted twice.
 */
export const pageId = (pageIndex: number, keys: readonly string[]): string =>
	`${pageIndex}-${digest(keys.join('\n'))}`;

/** Largest JSON text of a cursor's value, in UTF-8 bytes: a cursor is a position, not data. */
export const MAX_CURSOR_BYTES = 65_536;

/**
 * What a cursor's checksum (SHA-256, hex) is taken of: its name, its version and the JSON text of
 * its value, so a value moved to another cursor or version fails the check like a damaged one.
 * The service stores the checksum with the value and checks it before answering; Load Cursor
 * checks it again on what arrived.
 */
export const cursorChecksumText = (name: string, version: number, valueJson: string): string =>
	`${name}\n${version}\n${valueJson}`;
