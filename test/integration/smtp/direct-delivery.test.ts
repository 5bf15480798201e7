import { createApp } from '../../../service/src/app';
import { assembleBatches } from '../../../service/src/batches';
import type { Config } from '../../../service/src/config';
import { parseTransportUrl } from '../../../service/src/smtp/transports';
import { messageIdOf } from '../../../service/src/batches/dispatch/smtp/message';
import { createTestService, type TestService } from '../../harness/service';
import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../harness/smtp-sink';
import { api, submitBatch, waitDone } from '../batches/helpers';

/**
 * Direct delivery against the real SMTP test sink, real Redis and the real dispatcher: the
 * service sends each item itself over a pooled transport. Greylisted recipients (451 once) are
 * retried, unknown ones (550 5.1.1) dead-lettered with their code and suppressed for the next
 * batch, every message carries the item's stable Message-ID.
 */
const recipients = (count: number, tag: string) =>
	Array.from({ length: count }, (_, n) => `${tag}${n}@example.test`);
const emailItems = (list: string[], subject: string) =>
	list.map((to, n) => ({ key: `r-${n}`, json: { to, subject, text: `Hello ${to}` } }));

/** A service with a started dispatcher whose transport `sink` points at a fresh SMTP sink. */
async function start(
	sinkOptions: SmtpSinkOptions,
	transportQuery = 'pool=8&ignoreTLS=true&timeout=5000',
	overrides: Record<string, string> = {},
): Promise<{ service: TestService; sink: SmtpSink }> {
	const sink = await startSmtpSink(sinkOptions);
	const service = createTestService(
		{
			SMTP_TRANSPORT_SINK: `smtp://${sink.host}:${sink.port}?${transportQuery}`,
			...overrides,
		} as Partial<Record<keyof Config, string>>,
		{ dispatcher: true },
	);
	return { service, sink };
}

const direct = (batchKey: string, extra: Record<string, unknown> = {}) => ({
	batchKey,
	delivery: 'smtp',
	smtp: { transport: 'sink', from: 'News <news@sender.test>' },
	chunkSize: 25,
	concurrency: 3,
	inDoubt: 'hold',
	backoff: { initialMs: 50, maxMs: 200 },
	...extra,
});

describe('direct delivery over SMTP (real sink, real Redis, dispatcher started)', () => {
	jest.setTimeout(60_000);
	let service: TestService | undefined;
	let sink: SmtpSink | undefined;
	afterEach(async () => {
		await service?.cleanup();
		await sink?.close();
		service = undefined;
		sink = undefined;
	});

	it('delivers each recipient once with its stable Message-ID, retries 451s and dead-letters and suppresses 550 5.1.1', async () => {
		const list = recipients(200, 'a');
		const pick = (...rest: number[]) => new Set(list.filter((_, n) => rest.includes(n % 20)));
		const greyAtRcpt = pick(3);
		const grey = pick(3, 4);
		const gone = pick(7);
		const goneAtData = pick(11);
		({ service, sink } = await start({
			failures: [
				{ recipients: (a) => greyAtRcpt.has(a), code: 451, at: 'rcpt', once: true },
				{ recipients: (a) => grey.has(a) && !greyAtRcpt.has(a), code: 451, at: 'data', once: true },
				{ recipients: (a) => gone.has(a), code: 550, at: 'rcpt' },
				{ recipients: (a) => goneAtData.has(a), code: 550, at: 'data' },
			],
		}));
		const batchId = await submitBatch(service.app, direct('mail-1'), emailItems(list, 'One'));
		const progress = await waitDone(service.app, batchId, 40_000);
		const dead = gone.size + goneAtData.size;
		expect(progress).toMatchObject({
			state: 'completed_with_errors',
			counts: { total: 200, succeeded: 200 - dead, deadLettered: dead, inDoubt: 0 },
		});
		// Each deliverable recipient exactly once, with the Message-ID of its item.
		for (const [n, address] of list.entries()) {
			const got = sink.byRecipient.get(address) ?? [];
			const undeliverable = gone.has(address) || goneAtData.has(address);
			expect([address, got.length]).toEqual([address, undeliverable ? 0 : 1]);
			if (!undeliverable) {
				expect(got[0].messageId).toBe(messageIdOf(batchId, `r-${n}`, 'sender.test'));
				expect(got[0].from).toBe('news@sender.test');
			}
		}
		// The greylisted ones were refused once first, then delivered.
		expect(sink.refusals.filter((r) => r.code === 451).length).toBe(grey.size);
		const letters = (await api(service.app).get(`/v1/batches/${batchId}/dead-letters?limit=100`))
			.body.deadLetters as Array<{ key: string; class: string; message: string }>;
		expect(new Set(letters.map((d) => d.class))).toEqual(new Set(['smtp_550']));
		expect(letters[0].message).toBe('550 5.1.1 Mailbox unavailable');
		// Each 550 5.1.1 address is now on the suppression list, with where it came from.
		const listed = await api(service.app).get(`/v1/suppressions/${[...gone][0]}`);
		expect(listed.status).toBe(200);
		expect(listed.body).toMatchObject({
			address: [...gone][0],
			source: 'smtp',
			code: 550,
			enhancedCode: '5.1.1',
			batchId,
			transport: 'sink',
			reason: '550 5.1.1 Mailbox unavailable',
		});
		expect((await api(service.app).get('/v1/suppressions?limit=1000')).body.total).toBe(dead);

		// The next batch skips the suppressed addresses: failed as `suppressed`, with the reason.
		const again = [...list.slice(0, 40), 'new@example.test'];
		const sentBefore = sink.messages.length;
		const second = await submitBatch(service.app, direct('mail-2'), emailItems(again, 'Two'));
		const secondProgress = await waitDone(service.app, second, 30_000);
		const skipped = again.filter((a) => gone.has(a) || goneAtData.has(a));
		expect(secondProgress.counts).toMatchObject({
			succeeded: again.length - skipped.length,
			deadLettered: skipped.length,
		});
		expect(sink.messages.length - sentBefore).toBe(again.length - skipped.length);
		const report = (await api(service.app).get(`/v1/batches/${second}/report`)).body;
		expect(report.error_categories).toEqual({ suppressed: skipped.length });
		const skip = report.errors.find((e: { error_type: string }) => e.error_type === 'suppressed');
		expect(skip.error_message).toMatch(
			/is on the suppression list since \d{4}-\d\d-\d\dT.*the relay answered 550 5\.1\.1 Mailbox unavailable \(batch mail-1\)/,
		);
	});

	it('fails malformed items permanently with a clear message and sends the rest', async () => {
		({ service, sink } = await start({}));
		const items = [
			{ key: 'ok', json: { to: 'Ann <ann@example.test>', subject: 'Hi', html: '<b>hi</b>' } },
			{ key: 'no-to', json: { subject: 'Hi', text: 'x' } },
			{ key: 'no-body', json: { to: 'bob@example.test', subject: 'Hi' } },
			{ key: 'two-to', json: { to: 'a@example.test, b@example.test', subject: 'Hi', text: 'x' } },
			{
				key: 'bad-header',
				json: {
					to: 'c@example.test',
					subject: 'Hi',
					text: 'x',
					headers: { 'Message-ID': '<x@y>' },
				},
			},
			{
				key: 'header',
				json: {
					to: 'd@example.test',
					subject: 'Hi',
					text: 'x',
					headers: { 'X-Campaign': 'spring' },
				},
			},
		];
		const batchId = await submitBatch(service.app, direct('mail-bad'), items);
		const progress = await waitDone(service.app, batchId);
		expect(progress.counts).toMatchObject({ succeeded: 2, deadLettered: 4 });
		const letters = (await api(service.app).get(`/v1/batches/${batchId}/dead-letters`)).body
			.deadLetters as Array<{ key: string; class: string; message: string; attempts: number }>;
		const byKey = Object.fromEntries(letters.map((d) => [d.key, d]));
		expect(byKey['no-to']).toMatchObject({
			class: 'invalid_item',
			message: expect.stringMatching(/^to /),
		});
		expect(byKey['no-body'].message).toMatch(/^text needs text or html/);
		expect(byKey['two-to'].message).toMatch(/^to must be one e-mail address/);
		expect(byKey['bad-header'].message).toMatch(
			/^headers\.Message-ID is set by the message itself/,
		);
		expect(sink.byRecipient.get('d@example.test')?.[0].headers['x-campaign']).toBe('spring');
		expect(sink.byRecipient.get('ann@example.test')?.[0].headers['to']).toBe(
			'Ann <ann@example.test>',
		);
	});

	it('refuses a transport the service lacks; dead-letters a batch whose transport left its configuration', async () => {
		({ service, sink } = await start({}, 'pool=2&ignoreTLS=true', {}));
		const transports = await api(service.app).get('/v1/transports');
		expect(transports.body.transports).toEqual([
			expect.objectContaining({
				name: 'sink',
				host: '127.0.0.1',
				maxConnections: 2,
				authenticated: false,
			}),
		]);
		const settings = direct('mail-none', {
			smtp: { transport: 'elsewhere', from: 'n@sender.test' },
		});
		const refused = await api(service.app).post('/v1/batches', settings);
		expect(refused.status).toBe(400);
		expect(refused.body.error.message).toMatch(/smtp\.transport 'elsewhere'.*it has: sink/);
		// Created by a process that had the transport, on the same Redis keys; sent by this one.
		const earlierCtx = {
			...service.ctx,
			config: {
				...service.ctx.config,
				SMTP_TRANSPORTS: [parseTransportUrl('elsewhere', 'smtp://127.0.0.1:9?ignoreTLS=true')],
			},
		};
		const earlier = assembleBatches(earlierCtx);
		const batchId = await submitBatch(
			createApp(earlierCtx, earlier),
			settings,
			emailItems(recipients(3, 'x'), 'None'),
		);
		await earlier.stop(100);
		await waitDone(service.app, batchId);
		const letters = (await api(service.app).get(`/v1/batches/${batchId}/dead-letters`)).body
			.deadLetters as Array<{ class: string; message: string }>;
		expect(letters).toHaveLength(3);
		expect(letters[0]).toMatchObject({ class: 'smtp_no_transport' });
		expect(letters[0].message).toMatch(
			/no SMTP transport 'elsewhere' \(it has: sink\); set SMTP_TRANSPORT_ELSEWHERE/,
		);
		expect(sink.messages).toHaveLength(0);
	});

	it('leaves a message whose transaction outlived its budget in doubt, held and never sent again', async () => {
		// The relay takes 2 s to answer the end of DATA; the batch allows 600 ms a transaction.
		({ service, sink } = await start({ latencyMs: 2000 }, 'pool=2&ignoreTLS=true&timeout=5000', {
			LEASE_GRACE_MS: '300',
		}));
		const batchId = await submitBatch(
			service.app,
			direct('mail-slow', { timeoutMs: 600 }),
			emailItems(['slow@example.test'], 'Slow'),
		);
		const progress = await waitDone(service.app, batchId, 20_000);
		expect(progress.counts).toMatchObject({ succeeded: 0, deadLettered: 1, inDoubt: 1 });
		const [letter] = (await api(service.app).get(`/v1/batches/${batchId}/dead-letters`)).body
			.deadLetters;
		expect(letter).toMatchObject({ class: 'in_doubt', attempts: 1 });
		// The relay took it after all (it answered too late): one message, and no second attempt.
		await new Promise((resolve) => setTimeout(resolve, 2500));
		expect(sink.byRecipient.get('slow@example.test')).toHaveLength(1);
	});

	/** A direct batch of `count` messages paced by a limiter of `perSecond`, no burst. */
	const pacedBatch = async (
		batchKey: string,
		perSecond: number,
		count: number,
		chunkSize: number,
	) => {
		const started = await start({});
		const limiterKey = `${batchKey}-relay`;
		await api(started.service.app).put(`/v1/limiters/${limiterKey}`, {
			capacity: 1,
			refillAmount: perSecond,
			refillUnit: 'second',
		});
		const batchId = await submitBatch(
			started.service.app,
			direct(batchKey, { limiterKey, chunkSize }),
			emailItems(recipients(count, batchKey), batchKey),
		);
		return { ...started, batchId };
	};

	it('stops sending within a message when the batch is paused, and goes on once resumed', async () => {
		// One chunk of 40 at 10 a second: without the pause it would take 4 s.
		const paced = await pacedBatch('mail-pause', 10, 40, 40);
		({ service, sink } = paced);
		const { batchId } = paced;
		while (sink.messages.length < 5) await new Promise((resolve) => setTimeout(resolve, 20));
		await api(service.app).post(`/v1/batches/${batchId}/pause`);
		const atPause = sink.messages.length;
		await new Promise((resolve) => setTimeout(resolve, 1500));
		expect(sink.messages.length - atPause).toBeLessThanOrEqual(2);
		const paused = (await api(service.app).get(`/v1/batches/${batchId}`)).body;
		expect(paused.counts.inFlight).toBe(0);
		await api(service.app).post(`/v1/batches/${batchId}/resume`);
		const done = await waitDone(service.app, batchId);
		expect(done.counts).toMatchObject({ succeeded: 40, deadLettered: 0 });
		expect(sink.messages).toHaveLength(40);
		expect(new Set(sink.messages.map((m) => m.messageId)).size).toBe(40);
	});

	it('paces every message by the batch limiter key', async () => {
		const paced = await pacedBatch('mail-paced', 20, 21, 10);
		({ service, sink } = paced);
		const { batchId } = paced;
		await waitDone(service.app, batchId);
		const times = sink.messages.map((m) => m.at).sort((a, b) => a - b);
		expect(times).toHaveLength(21);
		// 20 a second with no burst: 21 messages span at least 1 s (a little under, for rounding).
		expect(times[20] - times[0]).toBeGreaterThanOrEqual(950);
	});
});
