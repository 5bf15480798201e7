import nodemailer from 'nodemailer';

import type { Logger } from '../../../logger';
import type { SmtpTransport } from '../../../smtp';
import { findTransport } from '../../../smtp';
import { classifySmtpError, type SendOutcome, type SmtpErrorLike } from './classify';
import type { DirectMessage } from './message';

/**
 * One pooled nodemailer transporter per configured transport, made on first use and closed on
 * shutdown, with a slot per pooled connection: a message takes a slot before it is marked and
 * sent, so it never waits in nodemailer's queue once marked (a crash then leaves in doubt only
 * messages really on the wire).
 */
export class TransportPool {
	private readonly open = new Map<string, PooledTransport>();

	constructor(
		private readonly transports: readonly SmtpTransport[],
		private readonly logger: Logger,
	) {}

	get(name: string): PooledTransport | undefined {
		const transport = findTransport(this.transports, name);
		if (!transport) return undefined;
		let pooled = this.open.get(transport.name);
		if (!pooled) {
			pooled = new PooledTransport(transport, this.logger.child({ transport: transport.name }));
			this.open.set(transport.name, pooled);
		}
		return pooled;
	}

	/** Closes every connection (after the dispatcher stopped: none is delivering any more). */
	close(): void {
		for (const pooled of this.open.values()) pooled.close();
		this.open.clear();
	}
}

export class PooledTransport {
	readonly slots: Slots;
	private readonly mailer: ReturnType<typeof nodemailer.createTransport>;

	constructor(
		readonly transport: SmtpTransport,
		logger: Logger,
	) {
		this.slots = new Slots(transport.maxConnections);
		this.mailer = nodemailer.createTransport({
			pool: true,
			host: transport.host,
			port: transport.port,
			secure: transport.secure,
			ignoreTLS: transport.ignoreTLS,
			requireTLS: transport.requireTLS,
			tls: { rejectUnauthorized: transport.rejectUnauthorized },
			name: transport.clientName,
			auth: transport.auth ? { user: transport.auth.user, pass: transport.auth.pass } : undefined,
			maxConnections: transport.maxConnections,
			maxMessages: transport.maxMessages,
			connectionTimeout: transport.timeoutMs,
			greetingTimeout: transport.timeoutMs,
			socketTimeout: transport.timeoutMs,
			// Items come from users: nothing in them may read files or fetch URLs.
			disableFileAccess: true,
			disableUrlAccess: true,
			logger: false,
		});
		this.mailer.on('error', (error: Error) =>
			logger.warn({ err: error.message }, 'SMTP pool error'),
		);
	}

	/**
	 * One SMTP transaction, cut off after `budgetMs` (the connection is closed then, and the
	 * message is in doubt: the relay may have taken it).
	 */
	async send(message: DirectMessage, budgetMs: number): Promise<SendOutcome> {
		try {
			await this.mailer.sendMail({
				...message.mail,
				envelope: { from: message.mail.from.address, to: [message.mail.to.address] },
				signal: AbortSignal.timeout(budgetMs),
			});
			return { kind: 'sent' };
		} catch (error) {
			const smtpError = error as SmtpErrorLike;
			if (smtpError.code === 'EABORT') {
				return {
					kind: 'in_doubt',
					message: `the relay did not finish the SMTP transaction within ${budgetMs} ms; it may have taken the message`,
				};
			}
			return classifySmtpError(smtpError);
		}
	}

	close(): void {
		this.mailer.close();
	}
}

/** Connections free for a new message, handed out in arrival order. */
export class Slots {
	private readonly waiting: Array<() => void> = [];

	constructor(private free: number) {}

	/** Waits for a free slot; false when `signal` aborted first (then no slot is held). */
	take(signal: AbortSignal): Promise<boolean> {
		if (signal.aborted) return Promise.resolve(false);
		if (this.free > 0) {
			this.free--;
			return Promise.resolve(true);
		}
		return new Promise((resolve) => {
			const onAbort = (): void => {
				const at = this.waiting.indexOf(wake);
				if (at >= 0) this.waiting.splice(at, 1);
				resolve(false);
			};
			const wake = (): void => {
				signal.removeEventListener('abort', onAbort);
				resolve(true);
			};
			this.waiting.push(wake);
			signal.addEventListener('abort', onAbort, { once: true });
		});
	}

	give(): void {
		const next = this.waiting.shift();
		if (next) next();
		else this.free++;
	}
}
