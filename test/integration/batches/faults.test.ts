import { killService } from '../../chaos/kill-service.chaos';

/**
 * kill -9 of service processes mid-batch (children running service/src/main.ts, a private Redis
 * with AOF). Every item ends succeeded or dead-lettered, none is recorded twice, and the
 * key-honouring sink never gets an item again after it applied and recorded it.
 */
describe('batches: kill -9 of a service process mid-batch (real processes, Redis with AOF)', () => {
	it.each([
		['the only process is killed and restarted', 1],
		['one of two processes is killed; the other takes over its chunks', 2],
	])(
		'%s',
		async (_label, replicas) => {
			const result = await killService({ items: 1500, replicas });
			expect(result.inFlightAtKill).toBeGreaterThan(0);
			expect(result.succeeded + result.deadLettered).toBe(1500);
			expect(result.deadLettered).toBe(16);
			expect(result.lost).toBe(0);
			expect(result.recordedTwice).toBe(0);
			expect(result.duplicates).toBe(0);
		},
		120_000,
	);
});
