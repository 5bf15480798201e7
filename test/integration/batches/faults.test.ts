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

describe('batches: kill -9 of Redis (AOF everysec) twice mid-batch, two service processes', () => {
	it('loses nothing; nothing acknowledged is sent again', async () => {
		const { killRedis } = await import('../../chaos/kill-redis.chaos');
		const result = await killRedis({ items: 1500 });
		expect(result.redisKills).toBe(2);
		expect(result.lost).toBe(0);
		expect(result.duplicates).toBe(0);
		expect(result.succeeded + result.deadLettered).toBe(1500);
	}, 180_000);
});

describe('batches: three service processes, one killed -9 at random moments', () => {
	it('loses nothing and sends nothing twice', async () => {
		const { killReplicas } = await import('../../chaos/kill-replicas.chaos');
		const result = await killReplicas({ items: 1500, rounds: 8 });
		expect(result.kills).toBe(8);
		expect(result.lost).toBe(0);
		expect(result.duplicates).toBe(0);
		expect(result.unackedResends).toBe(0);
	}, 180_000);
});
