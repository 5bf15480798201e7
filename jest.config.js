/**
 * Suites: unit (no services), integration (real Redis), browser (Debian's Chromium against the
 * operator view, real Redis), e2e (real n8n + service + Redis).
 */
const tsJest = ['ts-jest', { tsconfig: 'test/tsconfig.json' }];
const common = {
	testEnvironment: 'node',
	transform: { '^.+\\.ts$': tsJest },
	moduleFileExtensions: ['ts', 'js', 'json'],
};

module.exports = {
	projects: [
		{ ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
		{
			...common,
			displayName: 'integration',
			testMatch: ['<rootDir>/test/integration/**/*.test.ts'],
			globalSetup: '<rootDir>/test/harness/redis-global-setup.ts',
			globalTeardown: '<rootDir>/test/harness/redis-global-teardown.ts',
		},
		{
			...common,
			displayName: 'browser',
			testMatch: ['<rootDir>/test/browser/**/*.browser.test.ts'],
			globalSetup: '<rootDir>/test/harness/redis-global-setup.ts',
			globalTeardown: '<rootDir>/test/harness/redis-global-teardown.ts',
		},
		{
			...common,
			displayName: 'e2e',
			testMatch: ['<rootDir>/test/e2e/**/*.e2e.test.ts'],
			globalSetup: '<rootDir>/test/e2e/global-setup.ts',
			globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
		},
	],
};
