import type { Express } from 'express';
import request from 'supertest';

import { TEST_API_KEY } from '../../harness/service';

/** Logs in through the form as a browser would; answers the session cookie (name=value). */
export async function login(app: Express | string, apiKey = TEST_API_KEY): Promise<string> {
	const res = await request(app)
		.post('/ui/login')
		.type('form')
		.send({ apiKey, next: '/ui/' })
		.redirects(0);
	if (res.status !== 303) throw new Error(`login answered ${res.status}: ${res.text}`);
	const cookie = ([] as string[]).concat(res.headers['set-cookie'] ?? [])[0];
	if (!cookie) throw new Error('login set no cookie');
	return cookie.split(';')[0];
}

/** Reads server-sent events from a URL with a cookie; collects frames until stop() is called. */
export interface EventStream {
	frames: Array<{ event: string; data: string; at: number }>;
	status: number;
	stop(): void;
	/** Resolves with the first frame that matches, or rejects after timeoutMs. */
	next(
		match: (frame: { event: string; data: string }) => boolean,
		timeoutMs?: number,
	): Promise<{ event: string; data: string }>;
}

export async function openEventStream(url: string, cookie?: string): Promise<EventStream> {
	const abort = new AbortController();
	const res = await fetch(url, {
		headers: cookie ? { cookie, accept: 'text/event-stream' } : { accept: 'text/event-stream' },
		signal: abort.signal,
	});
	const frames: EventStream['frames'] = [];
	const waiters = new Set<() => void>();
	const stream: EventStream = {
		frames,
		status: res.status,
		stop: () => abort.abort(),
		next: (match, timeoutMs = 10_000) =>
			new Promise((resolve, reject) => {
				let seen = 0;
				const check = (): void => {
					for (; seen < frames.length; seen++) {
						if (match(frames[seen])) {
							waiters.delete(check);
							clearTimeout(timer);
							resolve(frames[seen]);
							return;
						}
					}
				};
				const timer = setTimeout(() => {
					waiters.delete(check);
					reject(
						new Error(`no matching event within ${timeoutMs} ms (${frames.length} frames seen)`),
					);
				}, timeoutMs);
				waiters.add(check);
				check();
			}),
	};
	if (res.status !== 200 || !res.body) {
		await res.body?.cancel().catch(() => undefined);
		return stream;
	}
	void (async () => {
		const decoder = new TextDecoder();
		let buffer = '';
		try {
			for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
				buffer += decoder.decode(chunk, { stream: true });
				let end: number;
				while ((end = buffer.indexOf('\n\n')) >= 0) {
					const raw = buffer.slice(0, end);
					buffer = buffer.slice(end + 2);
					let event = 'message';
					const data: string[] = [];
					for (const line of raw.split('\n')) {
						if (line.startsWith('event: ')) event = line.slice(7);
						else if (line.startsWith('data: ')) data.push(line.slice(6));
					}
					if (data.length === 0) continue;
					frames.push({ event, data: data.join('\n'), at: Date.now() });
					for (const waiter of [...waiters]) waiter();
				}
			}
		} catch {
			// aborted by stop()
		}
	})();
	return stream;
}
