import { z } from 'zod';

/** Milliseconds per refill unit; the nodes offer the same three names. */
export const REFILL_UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000 } as const;
export type RefillUnit = keyof typeof REFILL_UNIT_MS;

/** Longest a caller may ask the service to hold an acquire (the HTTP request stays open that long). */
export const MAX_WAIT_LIMIT_MS = 600_000;
const MAX_TOKENS = 1_000_000_000;

const wholeNumber = (what: string, min: number, max: number) =>
	z
		.number({ error: `must be a number (${what})` })
		.int(`must be a whole number (${what})`)
		.min(min, `must be at least ${min} (${what})`)
		.max(max, `must be at most ${max} (${what})`);

/**
 * How one limiter key behaves. Stored per key in Redis; whoever configures last wins.
 * Adaptive limiters halve their rate on a throttle (never below a tenth of refillAmount) and add
 * a tenth of refillAmount back every recoveryStepMs without throttles.
 */
export const limiterSettingsSchema = z.strictObject({
	/** Burst: the most tokens the bucket holds, and the largest cost one acquire may ask for. */
	capacity: wholeNumber('the most tokens the bucket holds', 1, MAX_TOKENS),
	/** Tokens added per refillUnit. */
	refillAmount: wholeNumber('tokens added per refillUnit; 0 would never refill', 1, MAX_TOKENS),
	refillUnit: z.enum(['second', 'minute', 'hour'], {
		error: 'must be second, minute or hour',
	}),
	/** @defaultValue false */
	adaptive: z.boolean({ error: 'must be true or false' }).default(false),
	/** @defaultValue 5000 */
	recoveryStepMs: wholeNumber('ms between adaptive recovery steps', 100, 3_600_000).default(5_000),
});

export type LimiterSettings = z.infer<typeof limiterSettingsSchema>;
export type LimiterSettingsInput = z.input<typeof limiterSettingsSchema>;

export const costSchema = wholeNumber('tokens this acquire takes', 1, MAX_TOKENS);
export const maxWaitSchema = wholeNumber(
	'ms the service may hold the request',
	0,
	MAX_WAIT_LIMIT_MS,
);
export const pauseSchema = wholeNumber('ms to pause the key, from Retry-After', 0, 86_400_000);

/** What GET /v1/limiters/:key and every limiter operation report. */
export interface LimiterState {
	limiterKey: string;
	settings: LimiterSettings;
	/** Refill per refillUnit in force now: below refillAmount while an adaptive limiter recovers. */
	currentRefillAmount: number;
	/** Tokens available now; negative when callers are queued for future slots. */
	tokens: number;
	state: 'ok' | 'paused' | 'reduced';
	pausedUntil: string | null;
	pausedForMs: number;
	throttles: number;
	lastThrottleAt: string | null;
	grantedTokens: number;
}
