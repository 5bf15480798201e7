import { createHash } from 'node:crypto';

import { messageIdOf, readMessage } from '../../../service/src/batches/dispatch/smtp/message';
import type { BatchSettings } from '../../../service/src/batches/state/reads';

const settings = (smtp: BatchSettings['smtp']): BatchSettings => ({
	batchId: 'spring-2026',
	chunkSize: 100,
	concurrency: 4,
	maxAttempts: 5,
	priority: 0,
	timeoutMs: 120_000,
	inDoubt: 'hold',
	delivery: 'smtp',
	smtp,
});
const read = (json: unknown, smtp: BatchSettings['smtp'] = { transport: 'relay' }) =>
	readMessage(settings(smtp), 'k-1', JSON.stringify(json));

describe('an item of a direct batch read as an e-mail', () => {
	it('gets <sha256(batchId:itemKey)@domain> as Message-ID, the From domain by default', () => {
		const digest = createHash('sha256').update('spring-2026:k-1').digest('hex');
		expect(messageIdOf('spring-2026', 'k-1', 'example.com')).toBe(`<${digest}@example.com>`);
		const message = read({
			to: 'Ann <Ann@Example.COM>',
			from: 'News <news@sender.example>',
			subject: 'Hi',
			text: 'x',
		});
		expect(message).toMatchObject({
			recipient: 'ann@example.com',
			messageId: `<${digest}@sender.example>`,
			mail: {
				from: { name: 'News', address: 'news@sender.example' },
				to: { name: 'Ann', address: 'Ann@Example.COM' },
				messageId: `<${digest}@sender.example>`,
			},
		});
	});

	it("takes the batch's default From and Message-ID domain when the item has none", () => {
		const message = read(
			{ to: { name: 'Bo', address: 'bo@example.com' }, subject: 'Hi', html: '<p>x</p>' },
			{ transport: 'relay', from: 'news@sender.example', messageIdDomain: 'mail.sender.example' },
		);
		expect(message).toMatchObject({
			mail: { from: { address: 'news@sender.example' }, html: '<p>x</p>' },
			messageId: expect.stringMatching(/@mail\.sender\.example>$/),
		});
	});

	it('treats what a Set node writes for a missing optional field as absent', () => {
		const message = read({
			to: 'c@example.com',
			from: 'n@sender.example',
			subject: 'Hi',
			text: 'x',
			html: '',
			replyTo: null,
			headers: null,
			email: 'c@example.com',
		});
		expect('invalid' in message).toBe(false);
		expect(message).toMatchObject({ mail: { html: undefined, replyTo: undefined } });
	});

	it.each([
		[{ subject: 'Hi', text: 'x' }, /^to /],
		[{ to: 'not an address', subject: 'Hi', text: 'x' }, /^to must be one e-mail address/],
		[
			{ to: 'a@b.example, c@d.example', subject: 'Hi', text: 'x' },
			/^to must be one e-mail address/,
		],
		[{ to: 'a@b.example', text: 'x' }, /^subject is required/],
		[{ to: 'a@b.example', subject: 'Hi' }, /^text needs text or html/],
		[
			{ to: 'a@b.example', subject: 'Hi', text: 'x', headers: { Subject: 'y' } },
			/^headers\.Subject is set by the message itself/,
		],
		[
			{ to: 'a@b.example', subject: 'Hi', text: 'x', headers: { 'X-A': 'one\r\nBcc: x@y' } },
			/^headers\.X-A must be one line/,
		],
		[
			{ to: 'a@b.example', subject: 'Hi', text: 'x', headers: { 'Bad Name': 'v' } },
			/^headers\.Bad Name is not a header name/,
		],
	])('refuses %j, saying what is wrong', (json, message) => {
		const read_ = read({ from: 'n@sender.example', ...json });
		expect(read_).toEqual({ invalid: expect.stringMatching(message) });
		expect((read_ as { invalid: string }).invalid).toMatch(
			/An item of a direct batch is an e-mail/,
		);
	});

	it('needs a From from the item or the batch', () => {
		expect(read({ to: 'a@b.example', subject: 'Hi', text: 'x' })).toEqual({
			invalid: expect.stringMatching(/no from, and the batch no smtp\.from/),
		});
	});
});
