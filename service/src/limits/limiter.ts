/**
 * Rate limiter engine: one token bucket per limiter key, shared by every caller, n8n worker and
 * service replica through Redis. Used by the limits router and by the batch engine to pace chunk
 * dispatch:
 *
 *   const limiter = new Limiter(ctx);
 *   await limiter.configure('smtp-relay', { capacity: 10, refillAmount: 600, refillUnit: 'minute' });
 *   const { granted, retryAfterMs } = await limiter.acquire('smtp-relay', chunk.items.length, 30_000);
 *   if (!granted) requeue(chunk, retryAfterMs);
 *   // a target answered 429 Retry-After: 5 -> every caller of the key waits 5 s
 *   await limiter.reportThrottle('smtp-relay', 5_000);
 *
 * acquire() reserves the next free slot atomically (arrival order across all processes) and then
 * sleeps in this process until the slot, so nothing polls Redis. A reservation further away than
 * maxWaitMs is not made: the answer is granted:false with retryAfterMs. A throttle reported while
 * callers sleep moves their slots too (they re-check once on waking). Settings may ride along
 * with acquire/take/reportThrottle (last writer wins); without any stored settings the key is 404.
 * Errors are ApiError (400 cost above capacity, 404 not configured), ready for the HTTP layer.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import path from 'node:path';

import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';
import {
	recordLimiterAcquire,
	recordLimiterTake,
	recordLimiterThrottle,
} from '../observability/metrics';
import { defineScripts } from '../redis/scripts';
import {
	limiterSettingsSchema,
	REFILL_UNIT_MS,
	type LimiterSettings,
	type LimiterSettingsInput,
	type LimiterState,
	type RefillUnit,
} from './settings';

export type { LimiterSettings, LimiterSettingsInput, LimiterState } from './settings';

export interface AcquireResult {
	granted: boolean;
	/** How long the service held the caller before the grant (or the refusal). */
	waitedMs: number;
	/** When refused: how long until this cost would likely be granted. 0 when granted. */
	retryAfterMs: number;
}

export interface AcquireOptions {
	/** Stored first, last writer wins: lets callers configure and acquire in one round trip. */
	settings?: LimiterSettingsInput;
	/** Aborting (client went away) gives the reservation back. */
	signal?: AbortSignal;
}

export interface TakeResult {
	/** Number of leading costs granted now. */
	granted: number;
	/** How long until the first refused cost would likely be granted; 0 when all were granted. */
	retryAfterMs: number;
}

type Operation = 'configure' | 'acquire' | 'take' | 'throttle' | 'release' | 'state';
/** The script answers integers for its code and strings for the rest; Number() reads both. */
type LimiterScript = (key: string, ...args: Array<string | number>) => Promise<string[]>;

/** A woken waiter re-reads the pause counter at most this often before giving up its slot. */
const MAX_PAUSE_RECHECKS = 50;

export class Limiter {
	private readonly script: LimiterScript;
	/** A limiter key nobody used for LIMITER_IDLE_HOURS is forgotten (Redis expiry). */
	private readonly idleMs: number;

	constructor(private readonly ctx: ServiceContext) {
		defineScripts(ctx.redis, path.join(__dirname, 'lua'));
		this.script = (ctx.redis as unknown as { limiter: LimiterScript }).limiter.bind(ctx.redis);
		this.idleMs = Math.round(ctx.config.LIMITER_IDLE_HOURS * 3_600_000);
	}

	async configure(limiterKey: string, settings: LimiterSettingsInput): Promise<LimiterState> {
		return this.toState(limiterKey, await this.run('configure', limiterKey, settings));
	}

	async state(limiterKey: string): Promise<LimiterState> {
		return this.toState(limiterKey, await this.run('state', limiterKey));
	}

	async acquire(
		limiterKey: string,
		cost: number,
		maxWaitMs: number,
		options: AcquireOptions = {},
	): Promise<AcquireResult> {
		const started = performance.now();
		const reply = await this.run('acquire', limiterKey, options.settings, [cost, maxWaitMs]);
		let result: AcquireResult;
		if (Number(reply[0]) === 1) {
			result = await this.waitForSlot(limiterKey, cost, maxWaitMs, reply, started, options.signal);
		} else {
			result = { granted: false, waitedMs: 0, retryAfterMs: Math.ceil(Number(reply[1])) };
		}
		recordLimiterAcquire(limiterKey, result.granted, cost, (performance.now() - started) / 1000);
		return result;
	}

	/** Grants the longest prefix of `costs` available right now; never waits (the Split operation). */
	async take(
		limiterKey: string,
		costs: number[],
		settings?: LimiterSettingsInput,
	): Promise<TakeResult> {
		const reply = await this.run('take', limiterKey, settings, costs);
		const granted = Number(reply[1]);
		const tokens = costs.slice(0, granted).reduce((sum, cost) => sum + cost, 0);
		recordLimiterTake(limiterKey, tokens, granted < costs.length);
		return { granted, retryAfterMs: Math.ceil(Number(reply[2])) };
	}

	/** A downstream 429: nobody gets tokens for pauseMs; adaptive keys also slow down. */
	async reportThrottle(
		limiterKey: string,
		pauseMs: number,
		settings?: LimiterSettingsInput,
	): Promise<LimiterState> {
		recordLimiterThrottle(limiterKey);
		return this.toState(limiterKey, await this.run('throttle', limiterKey, settings, [pauseMs]));
	}

	/** Gives back tokens granted but not used (a paced dispatch that ended up sending fewer items). */
	async release(limiterKey: string, cost: number): Promise<void> {
		if (cost > 0) await this.run('release', limiterKey, undefined, [cost]);
	}

	/** Sleeps until the reserved slot, following pauses reported meanwhile; gives it back on abort. */
	private async waitForSlot(
		limiterKey: string,
		cost: number,
		maxWaitMs: number,
		reply: string[],
		started: number,
		signal?: AbortSignal,
	): Promise<AcquireResult> {
		const pauseCounter = this.ctx.keys.limiter(limiterKey);
		let pausedTotal = Number(reply[12]);
		let delayMs = Number(reply[1]);
		for (let check = 0; delayMs > 0; check++) {
			const waited = performance.now() - started;
			// The script already checked the first delay against maxWaitMs; pauses can push it further.
			const tooLate = check > 0 && waited + delayMs > maxWaitMs;
			if (tooLate || check >= MAX_PAUSE_RECHECKS || signal?.aborted) {
				await this.run('release', limiterKey, undefined, [cost]);
				return {
					granted: false,
					waitedMs: Math.round(waited),
					retryAfterMs: Math.ceil(delayMs),
				};
			}
			try {
				await sleep(delayMs, undefined, { signal });
			} catch {
				continue; // aborted: the next turn gives the slot back
			}
			// One read per wake, not a poll: a throttle while we slept shifted every queued slot.
			const now = Number((await this.ctx.redis.hget(pauseCounter, 'pausedTotal')) ?? 0);
			delayMs = now - pausedTotal;
			pausedTotal = now;
		}
		return { granted: true, waitedMs: Math.round(performance.now() - started), retryAfterMs: 0 };
	}

	private async run(
		operation: Operation,
		limiterKey: string,
		settings?: LimiterSettingsInput,
		args: number[] = [],
	): Promise<string[]> {
		const stored = settings
			? scriptSettings(limiterSettingsSchema.parse(settings))
			: [0, 0, 0, 0, 0];
		const reply = await this.script(
			this.ctx.keys.limiter(limiterKey),
			operation,
			`${settings ? '1' : '0'}|${this.idleMs}`,
			...stored,
			...args,
		);
		if (Number(reply[0]) < 0) throw limiterError(Number(reply[0]), limiterKey, reply);
		return reply;
	}

	private toState(limiterKey: string, reply: string[]): LimiterState {
		const [now, capacity, refill, unitMs, adaptive, stepMs, rate, tat, pausedUntil] = reply
			.slice(3, 12)
			.map(Number);
		const interval = unitMs / rate;
		const paused = pausedUntil > now;
		const lastThrottleAt = Number(reply[15]);
		return {
			limiterKey,
			settings: {
				capacity,
				refillAmount: refill,
				refillUnit: unitName(unitMs),
				adaptive: adaptive === 1,
				recoveryStepMs: stepMs,
			},
			currentRefillAmount: Math.round(rate * 1000) / 1000,
			tokens: Math.floor((capacity - Math.max(0, tat - now) / interval) * 1000) / 1000,
			state: paused ? 'paused' : rate < refill ? 'reduced' : 'ok',
			pausedUntil: paused ? new Date(pausedUntil).toISOString() : null,
			pausedForMs: paused ? Math.ceil(pausedUntil - now) : 0,
			throttles: Number(reply[13]),
			lastThrottleAt: lastThrottleAt > 0 ? new Date(lastThrottleAt).toISOString() : null,
			grantedTokens: Number(reply[14]),
		};
	}
}

function scriptSettings(settings: LimiterSettings): number[] {
	return [
		settings.capacity,
		settings.refillAmount,
		REFILL_UNIT_MS[settings.refillUnit],
		settings.adaptive ? 1 : 0,
		settings.recoveryStepMs,
	];
}

function unitName(unitMs: number): RefillUnit {
	const entry = Object.entries(REFILL_UNIT_MS).find(([, ms]) => ms === unitMs);
	return (entry?.[0] ?? 'second') as RefillUnit;
}

/** The one place the script's negative codes become errors. */
function limiterError(code: number, limiterKey: string, reply: string[]): ApiError {
	if (code === -1) {
		return new ApiError(
			404,
			'limiter_not_configured',
			`Limiter '${limiterKey}' has no settings yet: PUT /v1/limiters/${limiterKey} or send settings with the request`,
		);
	}
	if (code === -2) {
		const [, cost, index, capacity] = reply;
		const field = Number(index) >= 0 ? `costs.${index}` : 'cost';
		return new ApiError(
			400,
			'cost_above_capacity',
			`Invalid ${field}: cost ${cost} is above capacity ${capacity} of limiter '${limiterKey}'; it could never be granted, so nothing was. Raise capacity or split the cost`,
			[{ path: field, message: `cost ${cost} is above capacity ${capacity}` }],
		);
	}
	return new ApiError(500, 'internal', `Limiter script answered unknown code ${code}`);
}
