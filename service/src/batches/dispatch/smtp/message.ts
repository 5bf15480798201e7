/**
 * An item of a direct batch, read as one e-mail: `to`, `subject`, `text` and/or `html`, optional
 * `from`, `replyTo` and `headers` (other fields are ignored, so items composed by a Set node may
 * carry more). Its Message-ID is `<sha256(batchId:itemKey)@domain>`: the same on every attempt,
 * so a receiver that de-duplicates by Message-ID sees one message even after a resend.
 */
import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';

import type { BatchSettings } from '../../state/reads';

export interface Mailbox {
	name: string;
	address: string;
}

/** A message ready for nodemailer, with what delivery needs to know of it. */
export interface DirectMessage {
	/** The recipient's address, lower-cased: the suppression list is keyed by it. */
	recipient: string;
	messageId: string;
	mail: {
		from: Mailbox;
		to: Mailbox;
		replyTo?: Mailbox;
		subject: string;
		text?: string;
		html?: string;
		headers?: Record<string, string>;
		messageId: string;
	};
}

/** Headers the message sets itself; an item may not override them. */
const OWN_HEADERS = new Set([
	'message-id',
	'from',
	'to',
	'cc',
	'bcc',
	'reply-to',
	'subject',
	'date',
	'sender',
	'mime-version',
	'content-type',
	'content-transfer-encoding',
]);

const ONE_ADDRESS = 'must be one e-mail address, like "ann@example.com" or "Ann <ann@example.com>"';
const oneAddress = (field: string) =>
	z
		.union(
			[z.string(), z.strictObject({ name: z.string().max(256).optional(), address: z.string() })],
			{
				error: (issue) =>
					issue.input === undefined ? "is required: the recipient's e-mail address" : ONE_ADDRESS,
			},
		)
		.transform((value, ctx) => {
			const box = mailboxOf(value);
			if (!box) {
				ctx.addIssue({ code: 'custom', message: ONE_ADDRESS });
				return z.NEVER;
			}
			return box;
		})
		.describe(field);
const body = z.string({ error: 'must be a string' });

const headerValue = z
	.union([z.string(), z.number()])
	.transform(String)
	.refine((value) => !/[\r\n]/.test(value) && value.length <= 998, {
		message: 'must be one line of at most 998 characters',
	});

/**
 * An optional field a Set node may still fill: these values mean "not given" (a Set node writes
 * null for a missing expression, '' for an empty one).
 */
const absentIf = <S extends z.ZodType>(absent: unknown[], schema: S) =>
	z.preprocess((value) => (absent.includes(value) ? undefined : value), schema.optional());

const itemSchema = z
	.object(
		{
			to: oneAddress('to'),
			subject: z.string({ error: 'is required: the subject line (may be empty)' }).max(998),
			text: absentIf([null], body),
			html: absentIf([null, ''], body),
			from: absentIf([null, ''], oneAddress('from')),
			replyTo: absentIf([null, ''], oneAddress('replyTo')),
			headers: absentIf(
				[null],
				z.record(z.string(), headerValue).superRefine((headers, ctx) => {
					const names = Object.keys(headers);
					if (names.length > 50)
						ctx.addIssue({ code: 'custom', message: 'may hold at most 50 headers' });
					for (const name of names) {
						const problem = !/^[!-9;-~]{1,76}$/.test(name)
							? 'is not a header name: printable ASCII, no spaces or ":"'
							: OWN_HEADERS.has(name.toLowerCase())
								? 'is set by the message itself: use the fields to, from, replyTo, subject'
								: undefined;
						if (problem) ctx.addIssue({ code: 'custom', path: [name], message: problem });
					}
				}),
			),
		},
		{ error: 'must be a JSON object' },
	)
	.refine((item) => item.text !== undefined || item.html !== undefined, {
		message: 'needs text or html (or both): the body of the e-mail',
		path: ['text'],
	});

function mailboxOf(value: string | { name?: string; address: string }): Mailbox | undefined {
	const parsed =
		typeof value === 'string'
			? addressparser(value)
			: [{ name: value.name ?? '', address: value.address }];
	if (parsed.length !== 1) return undefined;
	const [box] = parsed;
	if (box.group !== undefined) return undefined;
	const address = box.address.trim();
	if (
		!/^[^\s@<>"]{1,64}@[A-Za-z0-9.-]{1,253}\.?$/.test(address) &&
		!/^[^\s@]+@\[.+\]$/.test(address)
	) {
		return undefined;
	}
	return { name: box.name, address };
}

/** `<sha256(batchId:itemKey)@domain>`: the same for every attempt of an item. */
export function messageIdOf(batchId: string, itemKey: string, domain: string): string {
	const digest = createHash('sha256').update(`${batchId}:${itemKey}`).digest('hex');
	return `<${digest}@${domain}>`;
}

/** An item's JSON as a message, or why it cannot be one (said so the report explains it). */
export function readMessage(
	settings: BatchSettings,
	itemKey: string,
	json: string,
): DirectMessage | { invalid: string } {
	let value: unknown;
	try {
		value = JSON.parse(json);
	} catch {
		return { invalid: 'the item is not JSON' };
	}
	const parsed = itemSchema.safeParse(value);
	if (!parsed.success) {
		const issue = parsed.error.issues[0];
		const where = issue.path.length > 0 ? issue.path.join('.') : 'item';
		return {
			invalid: `${where} ${issue.message}. An item of a direct batch is an e-mail: { to, subject, text and/or html, from?, replyTo?, headers? }`,
		};
	}
	const item = parsed.data;
	const defaultFrom = settings.smtp?.from ? mailboxOf(settings.smtp.from) : undefined;
	const from = item.from ?? defaultFrom;
	if (!from) {
		return {
			invalid:
				'the item has no from, and the batch no smtp.from: set one of them (e.g. "News <news@example.com>")',
		};
	}
	const domain =
		settings.smtp?.messageIdDomain ?? from.address.split('@')[1].replace(/^\[|\]$/g, '');
	const messageId = messageIdOf(settings.batchId, itemKey, domain);
	return {
		recipient: item.to.address.toLowerCase(),
		messageId,
		mail: {
			from,
			to: item.to,
			replyTo: item.replyTo,
			subject: item.subject,
			text: item.text,
			html: item.html,
			headers: item.headers,
			messageId,
		},
	};
}
