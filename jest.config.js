/**
 * Suites: unit (no services), integration (real Redis), browser (Debian's Chromium against the
 * operator view, real Redis), e2e (real n8n + service + Redis), e2e-queue (the e-mail and fan-out
 * e2e tests again, plus what only queue mode has, on n8n in queue mode with two workers).
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
		{
			...common,
			displayName: 'e2e-queue',
			testMatch: [
				// The e-mail tests on the shared n8n (kill-n8n has a single n8n of its own: kill-worker
				// is its queue-mode counterpart) and the fan-out.
				'<rootDir>/test/e2e/email-campaign.e2e.test.ts',
				'<rootDir>/test/e2e/email-direct.e2e.test.ts',
				'<rootDir>/test/e2e/email-kill-service.e2e.test.ts',
				'<rootDir>/test/e2e/email-redelivery.e2e.test.ts',
				'<rootDir>/test/e2e/batch-fanout.e2e.test.ts',
				'<rootDir>/test/e2e-queue/**/*.e2e.test.ts',
			],
			globalSetup: '<rootDir>/test/e2e-queue/global-setup.ts',
			globalTeardown: '<rootDir>/test/e2e/global-teardown.ts',
		},
	],
};
