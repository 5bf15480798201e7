import type { Config } from '../../../service/src/config';
import { createTestService, type TestService } from '../../harness/service';
import { api } from '../batches/helpers';

/** The suppression list and transport routes over HTTP, on real Redis. */
describe('suppression list and transports API', () => {
	let service: TestService;
	beforeAll(() => {
		service = createTestService({
			SMTP_TRANSPORT_RELAY: 'smtps://mailer:top-secret-pass@relay.example.test?pool=12',
		} as Partial<Record<keyof Config, string>>);
	});
	afterAll(() => service.cleanup());

	it('lists transports with their settings and never their login', async () => {
		const res = await api(service.app).get('/v1/transports');
		expect(res.status).toBe(200);
		expect(res.body).toEqual({
			transports: [
				{
					name: 'relay',
					host: 'relay.example.test',
					port: 465,
					secure: true,
					ignoreTLS: false,
					requireTLS: false,
					authenticated: true,
					maxConnections: 12,
					maxMessages: 100,
					timeoutMs: 30_000,
				},
			],
		});
		expect(JSON.stringify(res.body)).not.toMatch(/mailer|top-secret/);
		expect(JSON.stringify(service.ctx.config)).not.toMatch(/top-secret/);
	});

	it('adds, reads, lists page by page and deletes entries; addresses compare lower-cased', async () => {
		const put = await api(service.app).put('/v1/suppressions/Ann%2Btag@Example.TEST', {
			reason: 'asked to be removed',
		});
		expect(put.status).toBe(200);
		expect(put.body).toMatchObject({
			address: 'ann+tag@example.test',
			reason: 'asked to be removed',
			source: 'api',
			suppressedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
		});
		const got = await api(service.app).get('/v1/suppressions/ann+tag@example.test');
		expect(got.body).toEqual(put.body);

		for (let n = 0; n < 30; n++) {
			await api(service.app).put(`/v1/suppressions/u${n}@example.test`, { reason: `r${n}` });
		}
		const seen = new Set<string>();
		let cursor: string | null = '0';
		for (let page = 0; cursor !== null && page < 50; page++) {
			const res = await api(service.app).get(`/v1/suppressions?limit=7&cursor=${cursor}`);
			expect(res.status).toBe(200);
			expect(res.body.total).toBe(31);
			for (const entry of res.body.suppressions) seen.add(entry.address);
			cursor = res.body.nextCursor;
		}
		expect(seen.size).toBe(31);

		const deleted = await api(service.app).delete('/v1/suppressions/ANN+tag@example.test');
		expect(deleted.body).toEqual({ address: 'ann+tag@example.test', deleted: true });
		const gone = await api(service.app).get('/v1/suppressions/ann+tag@example.test');
		expect(gone.status).toBe(404);
		expect(gone.body.error.message).toBe('ann+tag@example.test is not on the suppression list');
		expect((await api(service.app).delete('/v1/suppressions/ann+tag@example.test')).status).toBe(
			404,
		);
	});

	it('refuses bad input with 400 naming the field', async () => {
		const noAt = await api(service.app).get('/v1/suppressions/not-an-address');
		expect(noAt.status).toBe(400);
		expect(noAt.body.error.message).toMatch(/not an e-mail address like ann@example.com/);
		const noReason = await api(service.app).put('/v1/suppressions/a@example.test', {});
		expect(noReason.status).toBe(400);
		expect(noReason.body.error.message).toMatch(/reason/);
		const extra = await api(service.app).put('/v1/suppressions/a@example.test', {
			reason: 'x',
			until: 'never',
		});
		expect(extra.status).toBe(400);
		const badCursor = await api(service.app).get('/v1/suppressions?cursor=abc');
		expect(badCursor.status).toBe(400);
		expect(badCursor.body.error.message).toMatch(/cursor/);
	});
});
