import { ConfigError, loadConfig } from '../../../service/src/config';
import {
	describeTransport,
	findTransport,
	parseTransportUrl,
	redactUrl,
	TransportError,
} from '../../../service/src/smtp/transports';

describe('SMTP transports from SMTP_TRANSPORT_<NAME>', () => {
	const key = 'k'.repeat(24);

	it('reads a URL with its options and keeps the login out of sight', () => {
		const transport = parseTransportUrl(
			'relay',
			'smtp://mailer:p%40ss%2Fword@relay.example.com:2525?pool=50&maxMessages=500&ignoreTLS=true&timeout=10000&name=sender.example.com',
		);
		expect(transport).toEqual({
			name: 'relay',
			host: 'relay.example.com',
			port: 2525,
			secure: false,
			ignoreTLS: true,
			requireTLS: false,
			rejectUnauthorized: true,
			maxConnections: 50,
			maxMessages: 500,
			timeoutMs: 10_000,
			clientName: 'sender.example.com',
		});
		expect(transport.auth).toEqual({ user: 'mailer', pass: 'p@ss/word' });
		expect(JSON.stringify(transport)).not.toMatch(/mailer|p@ss/);
		expect(JSON.stringify(describeTransport(transport))).not.toMatch(/mailer|p@ss/);
		expect(describeTransport(transport).authenticated).toBe(true);
	});

	it('defaults the port and TLS from the scheme', () => {
		expect(parseTransportUrl('a', 'smtp://relay.test')).toMatchObject({
			port: 587,
			secure: false,
			maxConnections: 5,
			maxMessages: 100,
			timeoutMs: 30_000,
		});
		expect(parseTransportUrl('a', 'smtps://relay.test')).toMatchObject({ port: 465, secure: true });
		expect(parseTransportUrl('a', 'smtp://[::1]:25')).toMatchObject({ host: '::1', port: 25 });
		expect(
			parseTransportUrl('a', 'smtp://relay.test?secure=true&rejectUnauthorized=false'),
		).toMatchObject({ secure: true, rejectUnauthorized: false });
	});

	it.each([
		['relay.test:25', /is not a URL|must start with smtp:\/\//],
		[
			'http://relay.test',
			/must start with smtp:\/\/ \(STARTTLS\) or smtps:\/\/ \(TLS\), got http:/,
		],
		['smtp://relay.test/path', /takes no path/],
		['smtp://relay.test?pool=0', /'pool' must be a whole number from 1 to 1000, got '0'/],
		['smtp://relay.test?pool=ten', /'pool' must be a whole number/],
		['smtp://relay.test?timeout=5', /'timeout' must be a whole number from 1000/],
		['smtp://relay.test?ignoreTLS=yes', /'ignoreTLS' must be true or false, got 'yes'/],
		['smtp://relay.test?pol=3', /unknown option 'pol'; the options are pool, maxMessages/],
		['smtp://relay.test?ignoreTLS=true&requireTLS=true', /exclude each other/],
		['smtp://u:%zz@relay.test', /login is not URL-encoded/],
	])('refuses %s', (url, message) => {
		expect(() => parseTransportUrl('a', url)).toThrow(TransportError);
		expect(() => parseTransportUrl('a', url)).toThrow(message);
	});

	it('never shows the password in its own errors', () => {
		expect(redactUrl('smtp://user:hunter2@relay.test')).toBe('smtp://user:***@relay.test');
		expect(() => parseTransportUrl('a', 'smtp://user:hunter2@relay.test?x=1')).not.toThrow(
			/hunter2/,
		);
	});

	it('are read by the service configuration, named by variable, found without regard to case', () => {
		const config = loadConfig({
			API_KEY: key,
			SMTP_TRANSPORT_MAIN_RELAY: 'smtp://relay.test:25?pool=20',
			SMTP_TRANSPORT_SINK: 'smtp://127.0.0.1:2525?ignoreTLS=true',
		});
		expect(config.SMTP_TRANSPORTS.map((t) => t.name).sort()).toEqual(['main_relay', 'sink']);
		expect(findTransport(config.SMTP_TRANSPORTS, 'MAIN_relay')?.maxConnections).toBe(20);
		expect(loadConfig({ API_KEY: key }).SMTP_TRANSPORTS).toEqual([]);
	});

	it('stops the service start with every bad variable named, and no password in the message', () => {
		let message = '';
		try {
			loadConfig({
				API_KEY: key,
				SMTP_TRANSPORT_A: 'smtp://u:hunter2@relay.test?pool=0',
				SMTP_TRANSPORT_B: 'ftp://relay.test',
				'SMTP_TRANSPORT_BAD-NAME': 'smtp://relay.test',
				SMTP_TRANSPORT_a: 'smtp://relay.test',
			});
		} catch (error) {
			expect(error).toBeInstanceOf(ConfigError);
			message = (error as Error).message;
		}
		expect(message).toMatch(/SMTP_TRANSPORT_A: 'pool' must be a whole number/);
		expect(message).toMatch(/SMTP_TRANSPORT_B: must start with smtp:\/\//);
		expect(message).toMatch(/SMTP_TRANSPORT_BAD-NAME: the name after SMTP_TRANSPORT_ must be/);
		expect(message).toMatch(/SMTP_TRANSPORT_a: names the same transport 'a' as SMTP_TRANSPORT_A/);
		expect(message).not.toMatch(/hunter2/);
	});
});
