import request from 'supertest';

import { stopUi } from '../../../service/src/ui';
import { SESSION_COOKIE } from '../../../service/src/ui/session';
import { serveApp } from '../batches/helpers';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';
import { login, openEventStream } from './helpers';

describe('operator view: login, session cookie, 401 without it', () => {
	let service: TestService;
	beforeAll(() => {
		service = createTestService();
	});
	afterAll(async () => {
		await stopUi(service.ctx);
		await service.cleanup();
	});

	it('answers 401 for the page, its API, its event stream and the queues without a session', async () => {
		const page = await request(service.app).get('/ui/').set('accept', 'text/html');
		expect(page.status).toBe(401);
		// Browsers get the login form with the 401, so a person sees what to do.
		expect(page.text).toContain('name="apiKey"');
		for (const path of [
			'/ui/api/batches',
			'/ui/api/events',
			'/ui/queues/',
			'/ui/queues/api/queues',
		]) {
			const res = await request(service.app).get(path).set('accept', 'application/json');
			expect({ path, status: res.status }).toEqual({ path, status: 401 });
		}
		const api = await request(service.app).get('/ui/api/batches');
		expect(api.body.error.code).toBe('login_required');
		expect(api.body.error.message).toMatch(/\/ui\/login/);
		// The API key header does not open the view: it uses its own session.
		const withKey = await request(service.app)
			.get('/ui/api/batches')
			.set('x-api-key', TEST_API_KEY);
		expect(withKey.status).toBe(401);
	});

	it('refuses a wrong key with 401 and the reason, and sets no cookie', async () => {
		const res = await request(service.app)
			.post('/ui/login')
			.type('form')
			.send({ apiKey: 'not-the-key-0000000000' });
		expect(res.status).toBe(401);
		expect(res.headers['set-cookie']).toBeUndefined();
		expect(res.text).toMatch(/not the one this service was started with/);
		const empty = await request(service.app).post('/ui/login').type('form').send({});
		expect(empty.status).toBe(401);
		expect(empty.text).toMatch(/Enter the API key/);
	});

	it('logs in with an HttpOnly, SameSite=Strict cookie on /ui and opens page, API and queues', async () => {
		const res = await request(service.app)
			.post('/ui/login')
			.type('form')
			.send({ apiKey: TEST_API_KEY, next: '/ui/#batch=x' })
			.redirects(0);
		expect(res.status).toBe(303);
		expect(res.headers.location).toBe('/ui/#batch=x');
		const setCookie = String(res.headers['set-cookie']);
		expect(setCookie).toMatch(new RegExp(`^${SESSION_COOKIE}=[A-Za-z0-9_-]{43};`));
		expect(setCookie).toMatch(/HttpOnly/);
		expect(setCookie).toMatch(/SameSite=Strict/);
		expect(setCookie).toMatch(/Path=\/ui/);
		expect(res.headers.location).not.toMatch(TEST_API_KEY);

		const cookie = setCookie.split(';')[0];
		const page = await request(service.app).get('/ui/').set('cookie', cookie);
		expect(page.status).toBe(200);
		expect(page.text).toContain('/ui/assets/app.js');
		expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
		const list = await request(service.app).get('/ui/api/batches').set('cookie', cookie);
		expect(list.status).toBe(200);
		expect(list.body).toEqual({ batches: [], nextCursor: null });
		const queues = await request(service.app).get('/ui/queues/').set('cookie', cookie);
		expect(queues.status).toBe(200);
		expect(queues.text).toMatch(/<base href="\/ui\/queues\/?"/);
		const queueApi = await request(service.app).get('/ui/queues/api/queues').set('cookie', cookie);
		expect(queueApi.status).toBe(200);
		expect(JSON.stringify(queueApi.body)).toContain('batch-chunks');
	});

	it('never redirects a login elsewhere than the view', async () => {
		for (const next of [
			'https://evil.example/',
			'//evil.example/ui',
			'/v1/batches',
			'/ui\\@evil',
		]) {
			const res = await request(service.app)
				.post('/ui/login')
				.type('form')
				.send({ apiKey: TEST_API_KEY, next })
				.redirects(0);
			expect({ next, location: res.headers.location }).toEqual({ next, location: '/ui/' });
		}
	});

	it('requires the view header on changes, and answers clear errors for bad input', async () => {
		const cookie = await login(service.app);
		const noHeader = await request(service.app)
			.post('/ui/api/batches/b-1/pause')
			.set('cookie', cookie);
		expect(noHeader.status).toBe(403);
		expect(noHeader.body.error.code).toBe('ui_header_missing');
		const missing = await request(service.app)
			.post('/ui/api/batches/b-1/pause')
			.set('cookie', cookie)
			.set('x-batch-guardian-ui', '1');
		expect(missing.status).toBe(404);
		expect(missing.body.error.message).toMatch(/b-1/);
		const badId = await request(service.app).get('/ui/api/batches/%20bad').set('cookie', cookie);
		expect(badId.status).toBe(400);
		const badState = await request(service.app)
			.get('/ui/api/batches?state=nope')
			.set('cookie', cookie);
		expect(badState.status).toBe(400);
		expect(badState.body.error.message).toMatch(/state/);
		const badBody = await request(service.app)
			.post('/ui/api/batches/b-1/replay')
			.set('cookie', cookie)
			.set('x-batch-guardian-ui', '1')
			.set('content-type', 'application/json')
			.send('{"errorClass": 5}');
		expect(badBody.status).toBe(400);
		const unknown = await request(service.app).get('/ui/nothing-here').set('cookie', cookie);
		expect(unknown.status).toBe(404);
	});

	it('opens the event stream only with a session, and logout ends the session', async () => {
		const served = await serveApp(service.app);
		try {
			const refused = await openEventStream(`${served.url}/ui/api/events`);
			expect(refused.status).toBe(401);
			const cookie = await login(served.url);
			const stream = await openEventStream(`${served.url}/ui/api/events`, cookie);
			expect(stream.status).toBe(200);
			stream.stop();
			const out = await request(served.url).post('/ui/logout').set('cookie', cookie).redirects(0);
			expect(out.status).toBe(303);
			expect(String(out.headers['set-cookie'])).toMatch(new RegExp(`${SESSION_COOKIE}=;`));
			const after = await request(served.url).get('/ui/api/batches').set('cookie', cookie);
			expect(after.status).toBe(401);
		} finally {
			await served.close();
		}
	});

	it('keeps only a digest of the session id in Redis, with an expiry', async () => {
		const cookie = await login(service.app);
		const id = cookie.split('=')[1];
		const keys = await service.ctx.redis.keys(`${service.ctx.keys.prefix}:ui-session:*`);
		expect(keys.length).toBeGreaterThan(0);
		expect(keys.join()).not.toContain(id);
		const ttl = await service.ctx.redis.pttl(keys[0]);
		expect(ttl).toBeGreaterThan(11 * 3600 * 1000);
	});
});
