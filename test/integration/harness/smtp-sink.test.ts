import { connect } from 'node:net';
import nodemailer from 'nodemailer';

import { startSmtpSink, type SmtpSink, type SmtpSinkOptions } from '../../harness/smtp-sink';

/** What n8n's Send Email node does with "SSL/TLS" off: plain SMTP, no STARTTLS. */
const transport = (sink: SmtpSink, extra: Record<string, unknown> = {}) =>
	nodemailer.createTransport({
		host: sink.host,
		port: sink.port,
		secure: false,
		ignoreTLS: true,
		...extra,
	});

const mail = (to: string, n = 0) => ({
	from: 'campaign@sender.test',
	to,
	subject: `Message ${n}`,
	text: `Hello ${to}\n.a line that starts with a dot\n..and one with two\n`,
});

/** The code nodemailer reports for a refused message (undefined when it was sent). */
async function sendCode(sink: SmtpSink, to: string): Promise<number | undefined> {
	try {
		await transport(sink).sendMail(mail(to));
		return undefined;
	} catch (error) {
		return (error as { responseCode?: number }).responseCode;
	}
}

describe('SMTP test sink', () => {
	const sinks: SmtpSink[] = [];
	const start = async (options: SmtpSinkOptions = {}) => {
		const sink = await startSmtpSink(options);
		sinks.push(sink);
		return sink;
	};
	afterAll(async () => {
		for (const sink of sinks) await sink.close();
	});

	it('records envelope, Message-ID, subject and dot-unstuffed body of what nodemailer sends', async () => {
		const sink = await start();
		const sent = await transport(sink).sendMail({
			...mail('Ada@Example.test'),
			subject: 'Grüße, ünïcode',
			messageId: '<fixed-1@sender.test>',
		});
		expect(sent.response).toMatch(/^250 /);
		expect(sink.messages).toHaveLength(1);
		const [message] = sink.messages;
		expect(message).toMatchObject({
			from: 'campaign@sender.test',
			// nodemailer lower-cases the domain on the wire, never the local part.
			to: ['Ada@example.test'],
			messageId: '<fixed-1@sender.test>',
			subject: 'Grüße, ünïcode',
			connectionId: 1,
		});
		expect(message.size).toBeGreaterThan(100);
		expect(sink.byRecipient.get('ada@example.test')).toEqual([message]);
		expect(sink.connections()).toBe(1);
	});

	it('keeps the body bytes exact through dot-stuffing, also when commands are pipelined', async () => {
		const sink = await start();
		const body = 'Subject: raw\r\n\r\n.leading dot\r\n..two dots\r\n';
		const stuffed = body.replace(/^\./gm, '..');
		const script =
			'EHLO raw\r\nMAIL FROM:<a@raw.test>\r\nRCPT TO:<b@raw.test>\r\nDATA\r\n' +
			`${stuffed}.\r\nMAIL FROM:<a@raw.test>\r\nRCPT TO:<c@raw.test>\r\nDATA\r\n.\r\nQUIT\r\n`;
		const transcript = await new Promise<string>((resolve, reject) => {
			let text = '';
			const socket = connect(sink.port, sink.host, () => socket.write(script));
			socket.on('data', (chunk) => (text += chunk.toString()));
			socket.on('end', () => resolve(text));
			socket.on('error', reject);
		});
		expect(transcript.match(/^250 2\.0\.0 Ok/gm)).toHaveLength(2);
		expect(transcript).toMatch(/221 2\.0\.0 Bye\r\n$/);
		expect(sink.messages.map((m) => m.to[0])).toEqual(['b@raw.test', 'c@raw.test']);
		expect(sink.messages[0].size).toBe(Buffer.byteLength(body));
		expect(sink.messages[1].size).toBe(0);
	});

	it('accepts any AUTH LOGIN or PLAIN credentials', async () => {
		const sink = await start();
		for (const method of ['LOGIN', 'PLAIN']) {
			const auth = { user: 'someone', pass: 'anything' };
			await transport(sink, { auth, authMethod: method }).sendMail(mail(`${method}@auth.test`));
		}
		expect(sink.messages.map((m) => m.to[0])).toEqual(['LOGIN@auth.test', 'PLAIN@auth.test']);
	});

	it('answers chosen recipients 451 once, 451 always or 550, at RCPT or at end of DATA', async () => {
		const sink = await start({
			failures: [
				{ recipients: ['grey@x.test'], code: 451, at: 'rcpt', once: true },
				{ recipients: ['busy@x.test'], code: 451, at: 'data' },
				{ recipients: (a) => a.startsWith('gone'), code: 550, at: 'rcpt' },
				{ recipients: ['late@x.test'], code: 550, at: 'data' },
			],
		});
		expect(await sendCode(sink, 'grey@x.test')).toBe(451);
		expect(await sendCode(sink, 'grey@x.test')).toBeUndefined();
		expect(await sendCode(sink, 'busy@x.test')).toBe(451);
		expect(await sendCode(sink, 'busy@x.test')).toBe(451);
		expect(await sendCode(sink, 'Gone@x.test')).toBe(550);
		expect(await sendCode(sink, 'late@x.test')).toBe(550);
		expect(sink.messages.map((m) => m.to[0])).toEqual(['grey@x.test']);
		expect(sink.refusals.map(({ recipient, code, at }) => `${recipient} ${code} ${at}`)).toEqual([
			'grey@x.test 451 rcpt',
			'busy@x.test 451 data',
			'busy@x.test 451 data',
			'Gone@x.test 550 rcpt',
			'late@x.test 550 data',
		]);
	});

	it('lists recipients (or any key) accepted more than once', async () => {
		const sink = await start();
		for (const to of ['a@d.test', 'b@d.test', 'A@d.test', 'a@d.test']) {
			await transport(sink).sendMail(mail(to));
		}
		expect(sink.duplicates()).toEqual([{ key: 'a@d.test', count: 3 }]);
		expect(sink.duplicates((m) => m.subject)).toEqual([{ key: 'Message 0', count: 4 }]);
	});

	/** The sink measured alone, as the e-mail benchmark must print before its own figures. */
	it('adds its configured latency and little else, per new connection and pooled', async () => {
		const latencyMs = 100;
		const count = 20;
		const results: Record<string, { median: number; mean: number; max: number }> = {};
		for (const latency of [0, latencyMs]) {
			const sink = await start({ latencyMs: latency });
			for (const pooled of [false, true]) {
				const shared = pooled ? transport(sink, { pool: true, maxConnections: 1 }) : undefined;
				const times: number[] = [];
				for (let i = 0; i < count; i++) {
					const started = performance.now();
					await (shared ?? transport(sink)).sendMail(mail(`m${i}@time.test`, i));
					times.push(performance.now() - started);
				}
				shared?.close();
				times.sort((a, b) => a - b);
				const mean = times.reduce((sum, t) => sum + t, 0) / count;
				const name = `latency=${latency} ${pooled ? 'pooled' : 'new-connection'}`;
				results[name] = { median: times[count >> 1], mean, max: times[count - 1] };
			}
			expect(sink.messages).toHaveLength(2 * count);
			expect(sink.connections()).toBe(count + 1);
		}
		console.log(
			Object.entries(results)
				.map(
					([name, r]) =>
						`${name}: ${r.median.toFixed(1)} ms median, ${r.mean.toFixed(1)} mean, ${r.max.toFixed(1)} max`,
				)
				.join('\n'),
		);
		const overhead = (name: string, latency: number) => results[name].median - latency;
		expect(overhead('latency=0 pooled', 0)).toBeLessThan(15);
		expect(overhead(`latency=${latencyMs} pooled`, latencyMs)).toBeLessThan(15);
		expect(overhead(`latency=${latencyMs} pooled`, latencyMs)).toBeGreaterThanOrEqual(0);
		expect(overhead('latency=0 new-connection', 0)).toBeLessThan(20);
		expect(overhead(`latency=${latencyMs} new-connection`, latencyMs)).toBeLessThan(20);
	}, 60_000);
});
