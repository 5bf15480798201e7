/**
 * An SMTP server for tests and benchmarks, on plain `net`: it greets at once (the npm
 * `smtp-server` waits 100 ms first, which would dominate every figure, since n8n's Send Email
 * opens a connection per message), records what it accepts, and fails chosen recipients.
 */
import { createServer, type Socket } from 'node:net';

export interface SinkMessage {
	from: string;
	to: string[];
	messageId: string;
	subject: string;
	/** Bytes of the message after dot-unstuffing. */
	size: number;
	/** Epoch ms when the sink answered 250 to the message. */
	at: number;
	connectionId: number;
	/** Header lines by lower-cased name, unfolded (first value of each). */
	headers: Record<string, string>;
}

export interface SinkFailure {
	/** Addresses (any case), or a test on the lower-cased address. */
	recipients: string[] | ((address: string) => boolean);
	code: 451 | 550;
	/** Answer RCPT TO, or the end of DATA (the whole message then fails). */
	at: 'rcpt' | 'data';
	/** Fail only the first time each recipient is seen at that step (a greylisting relay). */
	once?: boolean;
}

export interface SinkRefusal {
	recipient: string;
	code: number;
	at: 'rcpt' | 'data';
	connectionId: number;
}

export interface SmtpSinkOptions {
	port?: number;
	/** Held before the final reply to DATA, like a remote relay; default 0. */
	latencyMs?: number;
	failures?: SinkFailure[];
}

export interface SmtpSink {
	host: string;
	port: number;
	messages: SinkMessage[];
	/** Accepted messages by lower-cased recipient address. */
	byRecipient: Map<string, SinkMessage[]>;
	refusals: SinkRefusal[];
	/** Connections opened so far. */
	connections(): number;
	/** Keys (default: recipient) accepted more than once, with how often. */
	duplicates(
		keyOf?: (message: SinkMessage, recipient: string) => string,
	): Array<{ key: string; count: number }>;
	close(): Promise<void>;
}

const REPLIES = {
	451: '451 4.3.0 Temporary failure, try again later',
	550: '550 5.1.1 Mailbox unavailable',
} as const;

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
	const host = '127.0.0.1';
	const sink = {
		messages: [] as SinkMessage[],
		byRecipient: new Map<string, SinkMessage[]>(),
		refusals: [] as SinkRefusal[],
	};
	const failedOnce = new Set<string>();
	const sockets = new Set<Socket>();
	let connectionCount = 0;

	/** The failure that applies to this recipient at this step now, if any (and spends a once). */
	const failureFor = (address: string, at: 'rcpt' | 'data'): 451 | 550 | undefined => {
		const lower = address.toLowerCase();
		for (const [index, failure] of (options.failures ?? []).entries()) {
			if (failure.at !== at) continue;
			const matches = Array.isArray(failure.recipients)
				? failure.recipients.some((r) => r.toLowerCase() === lower)
				: failure.recipients(lower);
			if (!matches) continue;
			const seenKey = `${index}:${lower}`;
			if (failure.once && failedOnce.has(seenKey)) continue;
			failedOnce.add(seenKey);
			return failure.code;
		}
		return undefined;
	};

	const record = (message: SinkMessage) => {
		sink.messages.push(message);
		for (const recipient of message.to) {
			const key = recipient.toLowerCase();
			const list = sink.byRecipient.get(key) ?? [];
			list.push(message);
			sink.byRecipient.set(key, list);
		}
	};

	const server = createServer((socket) => {
		const connectionId = ++connectionCount;
		sockets.add(socket);
		// Pipelined replies are separate small writes: Nagle plus delayed ACK would add 40 ms.
		socket.setNoDelay(true);
		socket.on('close', () => sockets.delete(socket));
		socket.on('error', () => undefined);
		const session = new Session(socket, connectionId, {
			latencyMs: options.latencyMs ?? 0,
			failureFor,
			refuse: (refusal) => sink.refusals.push(refusal),
			record,
		});
		socket.write(`220 ${host} ESMTP batch-guardian test sink\r\n`);
		socket.on('data', (chunk) => session.receive(chunk));
	});
	await new Promise<void>((resolve, reject) => {
		server.once('error', reject);
		server.listen(options.port ?? 0, host, () => resolve());
	});
	const { port } = server.address() as { port: number };

	return {
		host,
		port,
		...sink,
		connections: () => connectionCount,
		duplicates: (keyOf = (_message, recipient) => recipient.toLowerCase()) => {
			const counts = new Map<string, number>();
			for (const message of sink.messages) {
				for (const recipient of message.to) {
					const key = keyOf(message, recipient);
					counts.set(key, (counts.get(key) ?? 0) + 1);
				}
			}
			return [...counts].filter(([, count]) => count > 1).map(([key, count]) => ({ key, count }));
		},
		close: async () => {
			for (const socket of sockets) socket.destroy();
			await new Promise<void>((resolve) => server.close(() => resolve()));
		},
	};
}

interface SessionHooks {
	latencyMs: number;
	failureFor(address: string, at: 'rcpt' | 'data'): 451 | 550 | undefined;
	refuse(refusal: SinkRefusal): void;
	record(message: SinkMessage): void;
}

/** One connection. Input is read as latin1 so string length equals bytes on the wire. */
class Session {
	private buffer = '';
	private busy = false;
	private mode: 'command' | 'data' | 'auth-plain' | 'auth-user' | 'auth-pass' = 'command';
	private from: string | undefined;
	private to: string[] = [];

	constructor(
		private readonly socket: Socket,
		private readonly connectionId: number,
		private readonly hooks: SessionHooks,
	) {}

	receive(chunk: Buffer): void {
		this.buffer += chunk.toString('latin1');
		// Pipelined commands queue behind a DATA reply that is held for the latency.
		if (!this.busy) void this.pump();
	}

	private async pump(): Promise<void> {
		this.busy = true;
		try {
			for (;;) {
				if (this.mode === 'data') {
					const end = this.buffer.startsWith('.\r\n') ? 0 : this.buffer.indexOf('\r\n.\r\n');
					if (end < 0) break;
					const raw = end === 0 ? '' : this.buffer.slice(0, end + 2);
					this.buffer = this.buffer.slice(end === 0 ? 3 : end + 5);
					this.mode = 'command';
					await this.endOfData(raw.replace(/^\.\./gm, '.'));
				} else {
					const end = this.buffer.indexOf('\r\n');
					if (end < 0) break;
					const line = this.buffer.slice(0, end);
					this.buffer = this.buffer.slice(end + 2);
					this.command(line);
				}
				if (this.socket.destroyed) return;
			}
		} finally {
			this.busy = false;
		}
	}

	private reply(text: string): void {
		if (!this.socket.destroyed) this.socket.write(`${text}\r\n`);
	}

	private command(line: string): void {
		if (this.mode !== 'command') return this.authStep(line);
		const [verb, ...rest] = line.split(' ');
		const argument = rest.join(' ');
		switch (verb.toUpperCase()) {
			case 'EHLO':
				return this.reply(
					['250-127.0.0.1', '250-PIPELINING', '250-8BITMIME', '250-SMTPUTF8']
						.concat(['250-AUTH PLAIN LOGIN', '250 SIZE 52428800'])
						.join('\r\n'),
				);
			case 'HELO':
				return this.reply('250 127.0.0.1');
			case 'AUTH':
				return this.auth(argument);
			case 'MAIL':
				this.from = address(argument);
				this.to = [];
				return this.reply('250 2.1.0 Sender OK');
			case 'RCPT':
				return this.rcpt(address(argument));
			case 'DATA':
				if (!this.from) return this.reply('503 5.5.1 MAIL FROM first');
				if (this.to.length === 0) return this.reply('554 5.5.1 No valid recipients');
				this.mode = 'data';
				return this.reply('354 End data with <CR><LF>.<CR><LF>');
			case 'RSET':
				this.from = undefined;
				this.to = [];
				return this.reply('250 2.0.0 Reset');
			case 'NOOP':
				return this.reply('250 2.0.0 OK');
			case 'QUIT':
				this.reply('221 2.0.0 Bye');
				this.socket.end();
				return;
			default:
				return this.reply('502 5.5.2 Command not implemented');
		}
	}

	/** Any credentials are accepted: the sink stands in for a relay, not for its security. */
	private auth(argument: string): void {
		const [mechanism, initial] = argument.split(' ');
		const upper = (mechanism ?? '').toUpperCase();
		if (upper === 'PLAIN') {
			if (initial) return this.reply('235 2.7.0 Authentication successful');
			this.mode = 'auth-plain';
			return this.reply('334 ');
		}
		if (upper === 'LOGIN') {
			this.mode = initial ? 'auth-pass' : 'auth-user';
			return this.reply(initial ? '334 UGFzc3dvcmQ6' : '334 VXNlcm5hbWU6');
		}
		this.reply('504 5.5.4 Unrecognized authentication type');
	}

	private authStep(line: string): void {
		if (this.mode === 'auth-user') {
			this.mode = 'auth-pass';
			return this.reply('334 UGFzc3dvcmQ6');
		}
		this.mode = 'command';
		this.reply(line === '*' ? '501 5.0.0 Authentication aborted' : '235 2.7.0 Authenticated');
	}

	private rcpt(recipient: string): void {
		if (!this.from) return this.reply('503 5.5.1 MAIL FROM first');
		const code = this.hooks.failureFor(recipient, 'rcpt');
		if (code) {
			this.hooks.refuse({ recipient, code, at: 'rcpt', connectionId: this.connectionId });
			return this.reply(REPLIES[code]);
		}
		this.to.push(recipient);
		this.reply('250 2.1.5 Recipient OK');
	}

	private async endOfData(raw: string): Promise<void> {
		const from = this.from ?? '';
		const to = this.to;
		this.from = undefined;
		this.to = [];
		let code: 451 | 550 | undefined;
		for (const recipient of to) code ??= this.hooks.failureFor(recipient, 'data');
		if (this.hooks.latencyMs > 0) await sleep(this.hooks.latencyMs);
		if (code) {
			for (const recipient of to) {
				this.hooks.refuse({ recipient, code, at: 'data', connectionId: this.connectionId });
			}
			return this.reply(REPLIES[code]);
		}
		const headers = parseHeaders(raw);
		this.hooks.record({
			from,
			to,
			messageId: headers['message-id'] ?? '',
			subject: decodeWords(headers.subject ?? ''),
			size: raw.length,
			at: Date.now(),
			connectionId: this.connectionId,
			headers,
		});
		this.reply(`250 2.0.0 Ok: queued as ${this.connectionId}.${Date.now()}`);
	}
}

/** `FROM:<a@b> SIZE=12` or `TO:<a@b>` -> `a@b`. */
function address(argument: string): string {
	const bracketed = /<([^>]*)>/.exec(argument);
	return (bracketed ? bracketed[1] : (argument.split(':')[1] ?? '')).trim();
}

function parseHeaders(raw: string): Record<string, string> {
	const end = raw.indexOf('\r\n\r\n');
	const block = (end < 0 ? raw : raw.slice(0, end)).replace(/\r\n[ \t]+/g, ' ');
	const headers: Record<string, string> = {};
	for (const line of block.split('\r\n')) {
		const colon = line.indexOf(':');
		if (colon <= 0) continue;
		const name = line.slice(0, colon).trim().toLowerCase();
		headers[name] ??= line.slice(colon + 1).trim();
	}
	return headers;
}

/** RFC 2047 encoded words (nodemailer writes non-ASCII subjects so). */
function decodeWords(value: string): string {
	return value
		.replace(/\?=\s+=\?/g, '?==?')
		.replace(/=\?([^?]+)\?([BbQq])\?([^?]*)\?=/g, (_all, _charset, encoding: string, text) => {
			const bytes =
				encoding.toUpperCase() === 'B'
					? Buffer.from(text, 'base64')
					: Buffer.from(
							text
								.replace(/_/g, ' ')
								.replace(/=([0-9A-Fa-f]{2})/g, (_m: string, hex: string) =>
									String.fromCharCode(parseInt(hex, 16)),
								),
							'latin1',
						);
			return bytes.toString('utf8');
		});
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
