import type { PrivateRedis } from './redis';

export default async function teardown(): Promise<void> {
	const own = (globalThis as { __bgRedis?: PrivateRedis }).__bgRedis;
	if (own) await own.stop();
}
