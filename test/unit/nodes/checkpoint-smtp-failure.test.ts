import nodemailer from 'nodemailer';

import { failureOf } from '../../../nodes/Checkpoint/v1/helpers/failure';
import { startSmtpSink, type SmtpSink } from '../../harness/smtp-sink';

/**
 * n8n's Send Email (error output or Continue On Fail) leaves `{ error: <nodemailer's message> }` on
 * a failed item. Record Results reads the SMTP reply code from it: 4xx transient, 5xx permanent.
 */
describe('failureOf: SMTP replies in Send Email failures', () => {
	it.each([
		[
			"Can't send mail - all recipients were rejected: 451 4.3.0 Temporary failure, try again later",
			{ class: 'smtp_451', transient: true },
		],
		['Message failed: 550 5.1.1 Mailbox unavailable', { class: 'smtp_550', transient: false }],
		['Mail command failed: 421 Too many connections', { class: 'smtp_421', transient: true }],
		['Data command failed: 554 Transaction failed', { class: 'smtp_554', transient: false }],
	])('%s', (message, expected) => {
		expect(failureOf({ error: message })).toEqual({ message, ...expected });
	});

	it.each([
		'Request failed: 404 page',
		'boom',
		'Took 451 ms',
		'Connection timeout',
		"Can't send mail - all recipients were rejected: 250 ok",
	])('leaves other messages alone: %s', (message) => {
		expect(failureOf({ error: message })).toEqual({ message });
	});

	it('keeps an HTTP status over anything in the message', () => {
		const failure = failureOf({ error: { message: 'Mail command failed: 550 x', httpCode: 503 } });
		expect(failure).toMatchObject({ httpCode: 503, class: 'http_503' });
	});

	describe('with the messages nodemailer really produces against an SMTP server', () => {
		let sink: SmtpSink;
		beforeAll(async () => {
			sink = await startSmtpSink({
				failures: [
					{ recipients: ['grey@example.test'], code: 451, at: 'rcpt', once: true },
					{ recipients: ['gone@example.test'], code: 550, at: 'rcpt' },
					{ recipients: ['late@example.test'], code: 451, at: 'data' },
					{ recipients: ['bounce@example.test'], code: 550, at: 'data' },
				],
			});
		});
		afterAll(async () => await sink.close());

		async function send(to: string): Promise<string> {
			// As n8n's Send Email: a transport (and connection) per message, plain SMTP.
			const transport = nodemailer.createTransport({
				host: sink.host,
				port: sink.port,
				secure: false,
				ignoreTLS: true,
			});
			try {
				await transport.sendMail({ from: 'c@example.test', to, subject: 's', text: 't' });
				return 'sent';
			} catch (error) {
				return (error as Error).message;
			} finally {
				transport.close();
			}
		}

		it.each([
			['grey@example.test', 'smtp_451', true],
			['gone@example.test', 'smtp_550', false],
			['late@example.test', 'smtp_451', true],
			['bounce@example.test', 'smtp_550', false],
		])('%s -> %s (transient %s)', async (to, errorClass, transient) => {
			const message = await send(to);
			expect(failureOf({ error: message })).toEqual({ message, class: errorClass, transient });
		});

		it('a greylisted recipient goes through on the second try', async () => {
			expect(await send('grey@example.test')).toBe('sent');
			expect(sink.byRecipient.get('grey@example.test')).toHaveLength(1);
		});
	});
});
