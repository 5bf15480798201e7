import { ConfigError, loadConfig } from '../../../service/src/config';

describe('service configuration', () => {
	const key = 'k'.repeat(24);

	it('applies documented defaults', () => {
		const config = loadConfig({ API_KEY: key });
		expect(config).toMatchObject({
			PORT: 3030,
			HOST: '127.0.0.1',
			KEY_PREFIX: 'bg',
			EMBEDDED_REDIS_PORT: 6390,
		});
		expect(config.REDIS_URL).toBeUndefined();
	});

	it('requires an API key and says how to make one', () => {
		expect(() => loadConfig({})).toThrow(ConfigError);
		expect(() => loadConfig({ API_KEY: 'short' })).toThrow(/at least 16 characters.*openssl rand/);
	});

	it.each([
		[{ PORT: 'abc' }, /PORT/],
		[{ PORT: '70000' }, /PORT/],
		[{ REDIS_URL: 'http://x' }, /REDIS_URL must start with redis:\/\//],
		[{ KEY_PREFIX: 'has space' }, /KEY_PREFIX/],
		[{ LOG_LEVEL: 'loud' }, /LOG_LEVEL/],
	])('names the bad setting %p', (env, pattern) => {
		expect(() => loadConfig({ API_KEY: key, ...env })).toThrow(pattern);
	});
});
