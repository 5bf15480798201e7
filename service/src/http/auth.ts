import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';

import { ApiError } from './errors';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/** Accepts `x-api-key: <key>` or `Authorization: Bearer <key>` (the latter for Prometheus scrapers). */
export function requireApiKey(apiKey: string): RequestHandler {
	const expected = digest(apiKey);
	return (req, _res, next) => {
		const header = req.header('x-api-key') ?? bearer(req.header('authorization'));
		if (!header) {
			next(
				new ApiError(401, 'missing_api_key', 'Missing API key: send it in the x-api-key header'),
			);
			return;
		}
		// Comparing fixed-length digests keeps the comparison constant-time whatever the key length.
		if (!timingSafeEqual(digest(header), expected)) {
			next(new ApiError(401, 'invalid_api_key', 'Invalid API key'));
			return;
		}
		next();
	};
}

function bearer(value: string | undefined): string | undefined {
	const match = value ? /^Bearer\s+(.+)$/i.exec(value) : null;
	return match?.[1];
}
