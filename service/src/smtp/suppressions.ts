/**
 * The installation's suppression list: addresses a relay said do not exist (550 5.1.1 and the
 * like), or that an operator listed. Direct delivery adds to it and skips what is on it, so a
 * bad address is tried once, not once per campaign. One Redis hash: address -> why (JSON).
 *
 *   const suppressions = new Suppressions(ctx);
 *   await suppressions.add('gone@example.com', { reason: '550 5.1.1 No such user', source: 'smtp' });
 *   (await suppressions.find(['gone@example.com'])).get('gone@example.com'); // -> the entry
 */
import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';

export interface SuppressionInput {
	/** Why, in words: the relay's reply, or the operator's note. */
	reason: string;
	/** Who listed it: a relay's reply during direct delivery, or the API. */
	source: 'smtp' | 'api';
	/** SMTP reply code and enhanced status code, when a relay's reply listed it. */
	code?: number;
	enhancedCode?: string;
	/** Where the relay's reply came from. */
	batchId?: string;
	itemKey?: string;
	transport?: string;
}

export interface Suppression extends SuppressionInput {
	address: string;
	/** When it was listed (ISO 8601). */
	suppressedAt: string;
}

/** Addresses are compared lower-cased and trimmed, as relays treat them (near enough). */
export const normalizeAddress = (address: string): string => address.trim().toLowerCase();

const ADDRESS = /^[^\s@<>"]{1,64}@[^\s@<>"]{1,255}$/;

export function checkAddress(address: string): string {
	const normal = normalizeAddress(address);
	if (!ADDRESS.test(normal) || normal.length > 320) {
		throw new ApiError(
			400,
			'invalid_request',
			`Invalid address: '${address.slice(0, 100)}' is not an e-mail address like ann@example.com`,
			[{ path: 'address', message: 'must be an e-mail address' }],
		);
	}
	return normal;
}

export class Suppressions {
	constructor(private readonly ctx: ServiceContext) {}

	private get key(): string {
		return this.ctx.keys.suppressions();
	}

	/**
	 * Lists an address. A relay's reply never replaces an entry (the first reason stays, so the
	 * report says since when); an operator's PUT does. Answers the entry now stored.
	 */
	async add(address: string, input: SuppressionInput): Promise<Suppression> {
		const normal = normalizeAddress(address);
		const [seconds, micros] = await this.ctx.redis.time();
		const entry = {
			...input,
			address: normal,
			suppressedAt: new Date(
				Number(seconds) * 1000 + Math.floor(Number(micros) / 1000),
			).toISOString(),
		};
		const text = JSON.stringify(entry);
		if (input.source === 'api') {
			await this.ctx.redis.hset(this.key, normal, text);
			return entry;
		}
		if (await this.ctx.redis.hsetnx(this.key, normal, text)) return entry;
		return (await this.get(normal)) ?? entry;
	}

	async get(address: string): Promise<Suppression | null> {
		const raw = await this.ctx.redis.hget(this.key, normalizeAddress(address));
		return raw ? decode(normalizeAddress(address), raw) : null;
	}

	/** The entries of those addresses that are listed, by normalized address (one round trip). */
	async find(addresses: string[]): Promise<Map<string, Suppression>> {
		const found = new Map<string, Suppression>();
		if (addresses.length === 0) return found;
		const normal = [...new Set(addresses.map(normalizeAddress))];
		const raws = await this.ctx.redis.hmget(this.key, ...normal);
		raws.forEach((raw, i) => {
			if (raw) found.set(normal[i], decode(normal[i], raw));
		});
		return found;
	}

	async remove(address: string): Promise<boolean> {
		return (await this.ctx.redis.hdel(this.key, normalizeAddress(address))) === 1;
	}

	/** A page of the list (in no particular order) and the cursor of the next one ('0' at the end). */
	async list(
		limit: number,
		cursor = '0',
	): Promise<{ suppressions: Suppression[]; nextCursor: string | null; total: number }> {
		const [next, flat] = await this.ctx.redis.hscan(this.key, cursor, 'COUNT', limit);
		const suppressions: Suppression[] = [];
		for (let i = 1; i < flat.length; i += 2) suppressions.push(decode(flat[i - 1], flat[i]));
		const total = await this.ctx.redis.hlen(this.key);
		return { suppressions, nextCursor: next === '0' ? null : next, total };
	}
}

function decode(address: string, raw: string): Suppression {
	try {
		return { ...(JSON.parse(raw) as Suppression), address };
	} catch {
		// Written by hand into Redis: still listed, so still suppressed.
		return { address, reason: raw, source: 'api', suppressedAt: '' };
	}
}
