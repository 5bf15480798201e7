import { readFileSync } from 'node:fs';
import path from 'node:path';
import express, { Router, type RequestHandler, type Response } from 'express';

import { ApiError } from '../http/errors';
import type { UiSessions } from './session';

/** Mutating calls from the page carry it; a cross-site form cannot set a custom header. */
export const UI_HEADER = 'x-batch-guardian-ui';

const loginTemplate = readFileSync(path.join(__dirname, 'public', 'login.html'), 'utf8');
const escapeHtml = (text: string): string =>
	text.replace(
		/[&<>"']/g,
		(c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string,
	);

/** Only paths inside the view, so the login form cannot be turned into an open redirect. */
function safeNext(value: unknown): string {
	return typeof value === 'string' && /^\/ui(\/[A-Za-z0-9._~:/?#=&%-]*)?$/.test(value)
		? value
		: '/ui/';
}

function sendLogin(res: Response, status: number, next: string, error = ''): void {
	const html = loginTemplate
		.replace('{{next}}', escapeHtml(next))
		.replace('{{error}}', error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : '');
	res.status(status).type('html').set('cache-control', 'no-store').send(html);
}

/** GET/POST /login and POST /logout; the form posts the API key, never a URL parameter. */
export function loginRoutes(sessions: UiSessions): Router {
	const router = Router();
	router.get('/login', (req, res) => sendLogin(res, 200, safeNext(req.query.next)));
	router.post(
		'/login',
		express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 5 }),
		async (req, res) => {
			const body = (req.body ?? {}) as Record<string, unknown>;
			const next = safeNext(body.next);
			const apiKey = typeof body.apiKey === 'string' ? body.apiKey : '';
			if (!apiKey || !sessions.keyMatches(apiKey)) {
				sendLogin(
					res,
					401,
					next,
					apiKey
						? 'That API key is not the one this service was started with (API_KEY). Check it and try again.'
						: 'Enter the API key: the API_KEY this service was started with.',
				);
				return;
			}
			await sessions.open(res, req.secure);
			res.redirect(303, next);
		},
	);
	router.post('/logout', async (req, res) => {
		await sessions.close(req, res);
		res.redirect(303, '/ui/login');
	});
	return router;
}

/**
 * Everything after it needs a session. Pages answer 401 with the login form (a browser shows
 * it); the API, the event stream and the queues' API answer 401 JSON.
 */
export function requireSession(sessions: UiSessions): RequestHandler {
	return async (req, res, next) => {
		const remainingMs = await sessions.remainingMs(req);
		if (remainingMs > 0) {
			res.locals.sessionRemainingMs = remainingMs;
			next();
			return;
		}
		const wantsPage = req.method === 'GET' && !/^\/(api|queues\/api)\//.test(req.path);
		if (wantsPage && req.accepts(['json', 'html']) === 'html') {
			sendLogin(res, 401, safeNext(req.originalUrl));
			return;
		}
		next(
			new ApiError(
				401,
				'login_required',
				'Log in first: open /ui/login and enter the API key (the operator view uses a session cookie, not the x-api-key header)',
			),
		);
	};
}

/** CSRF guard for the page's mutating calls (besides the SameSite=Strict cookie). */
export const requireUiHeader: RequestHandler = (req, _res, next) => {
	if (req.header(UI_HEADER) === '1') return next();
	next(
		new ApiError(
			403,
			'ui_header_missing',
			`Changes through the operator view need the ${UI_HEADER}: 1 header (the page sends it); use the /v1 API with x-api-key from scripts`,
		),
	);
};

/** Same-origin only, nothing from elsewhere (bull-board's page names a font CDN: this blocks it). */
export const securityHeaders: RequestHandler = (_req, res, next) => {
	res.set({
		'content-security-policy':
			"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'",
		'x-content-type-options': 'nosniff',
		'referrer-policy': 'no-referrer',
		'x-frame-options': 'DENY',
	});
	next();
};
