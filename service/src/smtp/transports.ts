/**
 * SMTP transports the service may send through, one per `SMTP_TRANSPORT_<NAME>` environment
 * variable: `smtp://user:pass@host:port?pool=10&maxMessages=100` (or `smtps://` for TLS from the
 * first byte). Read once at start; a bad one stops the service with a message naming the variable.
 * The password never leaves this process: it is not enumerable (so no log line or JSON of the
 * config carries it) and `describeTransport` is what the API shows.
 */

export interface SmtpTransport {
	/** The variable's suffix, lower-cased: `SMTP_TRANSPORT_RELAY` -> `relay`. */
	name: string;
	host: string;
	port: number;
	/** TLS from the start (smtps://, usually port 465); otherwise STARTTLS when offered. */
	secure: boolean;
	/** Never upgrade with STARTTLS (a local relay or test sink). @defaultValue false */
	ignoreTLS: boolean;
	/** Refuse to send unless STARTTLS succeeds. @defaultValue false */
	requireTLS: boolean;
	/** Check the relay's TLS certificate. @defaultValue true */
	rejectUnauthorized: boolean;
	/** Pooled connections per service process, i.e. messages in flight. @defaultValue 5 */
	maxConnections: number;
	/** Messages one connection carries before it is replaced. @defaultValue 100 */
	maxMessages: number;
	/** Longest one SMTP transaction (connect included) may take. @defaultValue 30000 */
	timeoutMs: number;
	/** Host name said in EHLO. @defaultValue the machine's host name */
	clientName?: string;
	/** Login; not enumerable, never logged or returned. */
	readonly auth?: { user: string; pass: string };
}

export const TRANSPORT_ENV_PREFIX = 'SMTP_TRANSPORT_';

export class TransportError extends Error {}

interface NumberOption {
	kind: 'int';
	min: number;
	max: number;
	set: (t: SmtpTransport, value: number) => void;
}
interface FlagOption {
	kind: 'flag';
	set: (t: SmtpTransport, value: boolean) => void;
}
interface TextOption {
	kind: 'text';
	set: (t: SmtpTransport, value: string) => void;
}

const OPTIONS: Record<string, NumberOption | FlagOption | TextOption> = {
	pool: { kind: 'int', min: 1, max: 1000, set: (t, v) => (t.maxConnections = v) },
	maxMessages: { kind: 'int', min: 1, max: 1_000_000, set: (t, v) => (t.maxMessages = v) },
	timeout: { kind: 'int', min: 1000, max: 600_000, set: (t, v) => (t.timeoutMs = v) },
	secure: { kind: 'flag', set: (t, v) => (t.secure = v) },
	ignoreTLS: { kind: 'flag', set: (t, v) => (t.ignoreTLS = v) },
	requireTLS: { kind: 'flag', set: (t, v) => (t.requireTLS = v) },
	rejectUnauthorized: { kind: 'flag', set: (t, v) => (t.rejectUnauthorized = v) },
	name: { kind: 'text', set: (t, v) => (t.clientName = v) },
};
const FLAGS: Record<string, boolean> = { true: true, '1': true, false: false, '0': false };
const EXAMPLE = 'smtp://user:password@relay.example.com:587?pool=10&maxMessages=100';

/** The URL as it may be shown: the password replaced. */
export const redactUrl = (url: string): string => url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');

/** Parses one transport URL; errors say what is wrong and how a good one looks. */
export function parseTransportUrl(name: string, raw: string): SmtpTransport {
	let url: URL;
	try {
		url = new URL(raw.trim());
	} catch {
		throw new TransportError(`'${redactUrl(raw)}' is not a URL; write it like ${EXAMPLE}`);
	}
	if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
		throw new TransportError(
			`must start with smtp:// (STARTTLS) or smtps:// (TLS), got ${url.protocol}//`,
		);
	}
	if (!url.hostname) throw new TransportError(`names no host; write it like ${EXAMPLE}`);
	if (url.pathname && url.pathname !== '/') {
		throw new TransportError(`takes no path ('${url.pathname}'); options go after '?'`);
	}
	const secure = url.protocol === 'smtps:';
	const transport: SmtpTransport = {
		name,
		host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
		port: url.port ? Number(url.port) : secure ? 465 : 587,
		secure,
		ignoreTLS: false,
		requireTLS: false,
		rejectUnauthorized: true,
		maxConnections: 5,
		maxMessages: 100,
		timeoutMs: 30_000,
	};
	for (const [option, value] of url.searchParams) applyOption(transport, option, value);
	if (transport.ignoreTLS && transport.requireTLS) {
		throw new TransportError('ignoreTLS and requireTLS exclude each other: choose one');
	}
	if (url.username || url.password) {
		let auth: { user: string; pass: string };
		try {
			auth = { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) };
		} catch {
			throw new TransportError('login is not URL-encoded: write % in it as %25');
		}
		// Not enumerable: JSON.stringify, spreads and pino never see the login.
		Object.defineProperty(transport, 'auth', { value: auth, enumerable: false });
	}
	return transport;
}

function applyOption(transport: SmtpTransport, option: string, value: string): void {
	const rule = OPTIONS[option];
	if (!rule) {
		throw new TransportError(
			`unknown option '${option}'; the options are ${Object.keys(OPTIONS).join(', ')}`,
		);
	}
	if (rule.kind === 'int') {
		const number = Number(value);
		if (!/^\d+$/.test(value) || number < rule.min || number > rule.max) {
			throw new TransportError(
				`'${option}' must be a whole number from ${rule.min} to ${rule.max}, got '${value}'`,
			);
		}
		rule.set(transport, number);
	} else if (rule.kind === 'flag') {
		const flag = FLAGS[value.toLowerCase()];
		if (flag === undefined) {
			throw new TransportError(`'${option}' must be true or false, got '${value}'`);
		}
		rule.set(transport, flag);
	} else {
		if (!/^[A-Za-z0-9.-]{1,253}$/.test(value)) {
			throw new TransportError(`'${option}' must be a host name, got '${value}'`);
		}
		rule.set(transport, value);
	}
}

/**
 * Every `SMTP_TRANSPORT_<NAME>` of an environment, by variable name -> URL (the config schema
 * parses them; its errors name the variable).
 */
export function transportVariables(env: Record<string, unknown>): Record<string, string> {
	const found: Record<string, string> = {};
	for (const [key, value] of Object.entries(env)) {
		if (key.startsWith(TRANSPORT_ENV_PREFIX) && typeof value === 'string') found[key] = value;
	}
	return found;
}

/** Parses every transport variable; errors are keyed by variable name. */
export function parseTransports(variables: Record<string, string>): {
	transports: SmtpTransport[];
	errors: Array<{ variable: string; message: string }>;
} {
	const transports: SmtpTransport[] = [];
	const errors: Array<{ variable: string; message: string }> = [];
	const seen = new Map<string, string>();
	for (const [variable, url] of Object.entries(variables)) {
		const suffix = variable.slice(TRANSPORT_ENV_PREFIX.length);
		if (!/^[A-Za-z0-9][A-Za-z0-9_]{0,63}$/.test(suffix)) {
			errors.push({
				variable,
				message: 'the name after SMTP_TRANSPORT_ must be 1-64 letters, digits or underscores',
			});
			continue;
		}
		const name = suffix.toLowerCase();
		const twin = seen.get(name);
		if (twin) {
			errors.push({ variable, message: `names the same transport '${name}' as ${twin}` });
			continue;
		}
		seen.set(name, variable);
		try {
			transports.push(parseTransportUrl(name, url));
		} catch (error) {
			errors.push({ variable, message: (error as Error).message });
		}
	}
	return { transports, errors };
}

/** What the API shows of a transport: no login, no password. */
export function describeTransport(transport: SmtpTransport) {
	return {
		name: transport.name,
		host: transport.host,
		port: transport.port,
		secure: transport.secure,
		ignoreTLS: transport.ignoreTLS,
		requireTLS: transport.requireTLS,
		authenticated: transport.auth !== undefined,
		maxConnections: transport.maxConnections,
		maxMessages: transport.maxMessages,
		timeoutMs: transport.timeoutMs,
	};
}
export type TransportInfo = ReturnType<typeof describeTransport>;

/** The transport a batch names (names are matched without regard to case). */
export function findTransport(
	transports: readonly SmtpTransport[],
	name: string,
): SmtpTransport | undefined {
	const wanted = name.toLowerCase();
	return transports.find((t) => t.name === wanted);
}
