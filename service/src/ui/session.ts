import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';

import type { RedisClient } from '../redis/connection';

export const SESSION_COOKIE = 'bg_ui_session';
/** @defaultValue 12 hours: an operator logs in once a working day. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Operator sessions of the page: a random id in an HttpOnly, SameSite=Strict cookie; Redis keeps
 * only the id's digest, with an expiry, so every service replica accepts the session and a leaked
 * Redis dump holds no usable cookie.
 */
export class UiSessions {
	private readonly expectedKey: Buffer;

	constructor(
		private readonly redis: RedisClient,
		private readonly keyPrefix: string,
		apiKey: string,
		private readonly ttlMs = SESSION_TTL_MS,
	) {
		this.expectedKey = digest(apiKey);
	}

	/** Constant-time check of what the login form posted. */
	keyMatches(candidate: string): boolean {
		return timingSafeEqual(digest(candidate), this.expectedKey);
	}

	async open(res: Response, secure: boolean): Promise<void> {
		const id = randomBytes(32).toString('base64url');
		await this.redis.set(this.key(id), '1', 'PX', this.ttlMs);
		res.cookie(SESSION_COOKIE, id, {
			httpOnly: true,
			sameSite: 'strict',
			path: '/ui',
			secure,
			maxAge: this.ttlMs,
		});
	}

	/** Milliseconds the request's session has left, or 0 when it has none. */
	async remainingMs(req: Request): Promise<number> {
		const id = sessionId(req);
		if (!id) return 0;
		return Math.max(0, await this.redis.pttl(this.key(id)));
	}

	async close(req: Request, res: Response): Promise<void> {
		const id = sessionId(req);
		if (id) await this.redis.del(this.key(id));
		res.clearCookie(SESSION_COOKIE, { path: '/ui', httpOnly: true, sameSite: 'strict' });
	}

	private key(id: string): string {
		return `${this.keyPrefix}:ui-session:${digest(id).toString('hex')}`;
	}
}

function sessionId(req: Request): string | undefined {
	for (const part of (req.header('cookie') ?? '').split(';')) {
		const [name, ...value] = part.trim().split('=');
		if (name === SESSION_COOKIE) {
			const id = value.join('=');
			return /^[A-Za-z0-9_-]{43}$/.test(id) ? id : undefined;
		}
	}
	return undefined;
}
