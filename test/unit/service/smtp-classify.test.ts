import nodemailer from 'nodemailer';

import {
	classifySmtpError,
	enhancedCodeOf,
	type SmtpErrorLike,
} from '../../../service/src/batches/dispatch/smtp/classify';
import { freePort } from '../../harness/redis';
import { startSmtpSink, type SmtpSink } from '../../harness/smtp-sink';

/** How direct delivery reads an SMTP failure: retried, dead-lettered (and suppressed), or in doubt. */
describe('classifySmtpError', () => {
	const reply = (
		responseCode: number,
		response: string,
		command = 'RCPT TO',
		code = 'EENVELOPE',
	): SmtpErrorLike => ({ responseCode, response, command, code, message: `failed: ${response}` });

	it.each([
		[reply(451, '451 4.3.0 Temporary failure'), true, 'smtp_451'],
		[reply(450, '450 4.2.1 Mailbox busy'), true, 'smtp_450'],
		[reply(452, '452 4.5.3 Too many recipients'), true, 'smtp_452'],
		[reply(421, '421 4.7.0 Try again later, closing connection', 'MAIL FROM'), true, 'smtp_421'],
		[reply(451, '451 Requested action aborted', 'DATA', 'EMESSAGE'), true, 'smtp_451'],
		[reply(550, '550 5.7.1 Relaying denied'), false, 'smtp_550'],
		[reply(554, '554 5.6.0 Message rejected', 'DATA', 'EMESSAGE'), false, 'smtp_554'],
		[reply(552, '552 5.3.4 Message too big', 'DATA', 'EMESSAGE'), false, 'smtp_552'],
		// Bad sequence of commands is the session's fault, not the message's: retried.
		[reply(503, '503 5.5.1 Bad sequence'), true, 'smtp_503'],
	])('%j -> transient %s, class %s', (error, transient, errorClass) => {
		expect(classifySmtpError(error)).toMatchObject({
			kind: 'failed',
			transient,
			errorClass,
			message: error.response,
			code: error.responseCode,
			suppress: false,
		});
	});

	it.each([
		['550 5.1.1 <gone@example.com>: Recipient address rejected: User unknown', 'RCPT TO'],
		['550-5.1.1 The email account that you tried to reach does not exist.', 'RCPT TO'],
		['550 5.1.2 Host unknown', 'RCPT TO'],
		['553 5.1.3 Bad recipient address syntax', 'RCPT TO'],
		['551 5.1.6 Mailbox has moved', 'RCPT TO'],
		['556 5.1.10 Recipient address has null MX', 'RCPT TO'],
		['550 5.2.1 The email account that you tried to reach is disabled', 'DATA'],
	])('suppresses the address on %s', (response, command) => {
		const code = Number(response.slice(0, 3));
		expect(classifySmtpError(reply(code, response, command))).toMatchObject({
			kind: 'failed',
			transient: false,
			errorClass: `smtp_${code}`,
			suppress: true,
			enhancedCode: enhancedCodeOf(response),
		});
	});

	it('does not suppress on a sender refusal, a mailbox-full reply, or a 5xx without an enhanced code', () => {
		for (const error of [
			reply(550, '550 5.1.1 Sender unknown', 'MAIL FROM'),
			reply(552, '552 5.2.2 Mailbox full'),
			reply(550, '550 No such user here'),
			reply(450, '450 4.1.1 Try later'),
		]) {
			expect(classifySmtpError(error)).toMatchObject({ kind: 'failed', suppress: false });
		}
	});

	it.each([
		[
			{
				code: 'ECONNECTION',
				originalCode: 'ECONNREFUSED',
				command: 'CONN',
				message: 'connect ECONNREFUSED',
			},
			'smtp_connection',
		],
		[
			{
				code: 'ETIMEDOUT',
				timeoutType: 'CONNECT_TIMEOUT',
				command: 'CONN',
				message: 'Connection timeout',
			},
			'smtp_connection',
		],
		[
			{
				code: 'ETIMEDOUT',
				timeoutType: 'GREETING_TIMEOUT',
				command: 'CONN',
				message: 'Greeting never received',
			},
			'smtp_connection',
		],
		[{ code: 'EDNS', command: 'CONN', message: 'getaddrinfo ENOTFOUND relay' }, 'smtp_connection'],
		[
			{ code: 'ETLS', command: 'STARTTLS', message: 'Error upgrading connection' },
			'smtp_connection',
		],
		[
			{
				code: 'EAUTH',
				responseCode: 535,
				response: '535 5.7.8 Bad credentials',
				command: 'AUTH PLAIN',
				message: 'Invalid login',
			},
			'smtp_auth',
		],
		[
			{
				code: 'EPROTOCOL',
				responseCode: 554,
				response: '554 No SMTP service here',
				command: 'CONN',
				message: 'Invalid greeting',
			},
			'smtp_554',
		],
		[
			{
				code: 'ECONNECTION',
				message: 'Reached maximum number of retries after connection was closed',
			},
			'smtp_connection',
		],
	])('retries a failure before the transaction began: %j', (error, errorClass) => {
		expect(classifySmtpError(error)).toMatchObject({
			kind: 'failed',
			transient: true,
			errorClass,
			suppress: false,
		});
	});

	it('says how to fix a refused login', () => {
		const outcome = classifySmtpError({
			code: 'EAUTH',
			responseCode: 535,
			response: '535 5.7.8 Bad credentials',
			command: 'AUTH PLAIN',
		});
		expect(outcome).toMatchObject({
			message: expect.stringMatching(/fix the user and password in its SMTP_TRANSPORT_/),
		});
	});

	it.each([
		{ code: 'ETIMEDOUT', timeoutType: 'SOCKET_TIMEOUT', command: 'CONN', message: 'Timeout' },
		{ code: 'ECONNECTION', command: 'CONN', message: 'Connection closed unexpectedly' },
		{ code: 'ESOCKET', originalCode: 'ECONNRESET', command: 'CONN', message: 'read ECONNRESET' },
	])('leaves a connection lost mid-transaction in doubt: %j', (error) => {
		expect(classifySmtpError(error)).toMatchObject({
			kind: 'in_doubt',
			message: expect.stringMatching(/may have taken the message/),
		});
	});

	it('fails a message nodemailer refused to send permanently', () => {
		expect(
			classifySmtpError({
				code: 'EMESSAGE',
				command: 'MAIL FROM',
				message: 'Message size larger than allowed 1000',
			}),
		).toMatchObject({ kind: 'failed', transient: false, errorClass: 'invalid_message' });
	});

	describe('with the errors nodemailer really raises', () => {
		let sink: SmtpSink;
		beforeAll(async () => {
			sink = await startSmtpSink({
				failures: [
					{ recipients: ['grey@example.test'], code: 451, at: 'rcpt' },
					{ recipients: ['gone@example.test'], code: 550, at: 'rcpt' },
					{ recipients: ['late@example.test'], code: 451, at: 'data' },
					{ recipients: ['bounce@example.test'], code: 550, at: 'data' },
				],
			});
		});
		afterAll(() => sink.close());

		const sendTo = async (to: string, port = sink.port) => {
			const mailer = nodemailer.createTransport({
				host: '127.0.0.1',
				port,
				ignoreTLS: true,
				connectionTimeout: 2000,
			});
			try {
				await mailer.sendMail({ from: 'a@sender.test', to, subject: 's', text: 't' });
				return undefined;
			} catch (error) {
				return classifySmtpError(error as SmtpErrorLike);
			} finally {
				mailer.close();
			}
		};

		it('reads refusals at RCPT TO and at the end of DATA', async () => {
			expect(await sendTo('grey@example.test')).toMatchObject({
				kind: 'failed',
				transient: true,
				errorClass: 'smtp_451',
				suppress: false,
			});
			expect(await sendTo('gone@example.test')).toMatchObject({
				kind: 'failed',
				transient: false,
				errorClass: 'smtp_550',
				message: '550 5.1.1 Mailbox unavailable',
				suppress: true,
			});
			expect(await sendTo('late@example.test')).toMatchObject({
				kind: 'failed',
				transient: true,
				errorClass: 'smtp_451',
			});
			expect(await sendTo('bounce@example.test')).toMatchObject({
				kind: 'failed',
				transient: false,
				suppress: true,
			});
		});

		it('reads a relay that is not listening as a connection failure (nothing sent)', async () => {
			expect(await sendTo('x@example.test', await freePort())).toMatchObject({
				kind: 'failed',
				transient: true,
				errorClass: 'smtp_connection',
			});
		});
	});
});
