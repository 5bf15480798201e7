import { createHash } from 'node:crypto';
import type { Express } from 'express';
import request from 'supertest';

import { cursorChecksumText, MAX_CURSOR_BYTES } from '../../../nodes/shared/contract';
import { createApp } from '../../../service/src/app';
import { createRedis } from '../../../service/src/redis/connection';
import { createTestService, TEST_API_KEY, type TestService } from '../../harness/service';

/** Checkpoint -> Save Cursor / Load Cursor, service side: versions, checksums, races (real Redis). */
describe('cursors (real Redis)', () => {
	let service: TestService;
	beforeEach(() => {
		service = createTestService();
	});
	afterEach(async () => service.cleanup());

	const on = (app: Express) => ({
		get: (name: string) => request(app).get(`/v1/cursors/${name}`).set('x-api-key', TEST_API_KEY),
		save: (name: string, body: unknown) =>
			request(app)
				.put(`/v1/cursors/${name}`)
				.set('x-api-key', TEST_API_KEY)
				.send(body as object),
		remove: (name: string, query = '') =>
			request(app).delete(`/v1/cursors/${name}${query}`).set('x-api-key', TEST_API_KEY),
	});
	const api = () => on(service.app);
	const key = (name: string) => service.ctx.keys.cursor(name);
	const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

	it('is 404 until the first save, then holds value, version and a checksum of all three', async () => {
		const missing = await api().get('orders-export');
		expect(missing.status).toBe(404);
		expect(missing.body.error).toMatchObject({ code: 'cursor_not_found' });
		expect(missing.body.error.message).toContain('expectedVersion 0');

		const value = { updatedAt: '2026-05-01T10:00:00.000Z', id: 41 };
		const saved = await api().save('orders-export', { value, expectedVersion: 0 });
		expect(saved.status).toBe(200);
		expect(saved.body).toMatchObject({ name: 'orders-export', value, version: 1, replayed: false });
		const loaded = await api().get('orders-export');
		expect(loaded.status).toBe(200);
		expect(loaded.body).toEqual({
			name: 'orders-export',
			value,
			version: 1,
			checksum: sha256(cursorChecksumText('orders-export', 1, JSON.stringify(value))),
			updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			savedBy: null,
		});

		const next = await api().save('orders-export', {
			value: { ...value, id: 99 },
			expectedVersion: 1,
		});
		expect(next.body).toMatchObject({ version: 2, value: { id: 99 } });
		// The key carries the cursor's hash tag (one Redis Cluster slot per cursor).
		expect(await service.ctx.redis.hget(key('orders-export'), 'version')).toBe('2');
		expect(key('orders-export')).toContain('{orders-export}');
	});

	it('refuses a save from a stale version: the cursor cannot move backwards', async () => {
		await api().save('c1', { value: 10, expectedVersion: 0 });
		await api().save('c1', {
			value: 20,
			expectedVersion: 1,
			execution: { id: '812', workflowId: 'wf-9' },
		});
		// A run that loaded version 1 finishes late and tries to save its older position.
		const late = await api().save('c1', { value: 15, expectedVersion: 1 });
		expect(late.status).toBe(409);
		expect(late.body.error.code).toBe('cursor_version_conflict');
		expect(late.body.error.message).toMatch(
			/Cursor 'c1' is at version 2 \(saved at .+ by n8n execution 812 of workflow wf-9\), not at version 1/,
		);
		expect(late.body.error.message).toContain('cannot move backwards');
		const again = await api().save('c1', { value: 15, expectedVersion: 0 });
		expect(again.status).toBe(409);
		expect(again.body.error.message).toContain('already exists at version 2');
		const ahead = await api().save('c9', { value: 1, expectedVersion: 3 });
		expect(ahead.status).toBe(409);
		expect(ahead.body.error.message).toContain("'c9' does not exist");
		expect((await api().get('c1')).body).toMatchObject({ value: 20, version: 2 });
	});

	it('lets exactly one of many saves racing from the same version win, across two service replicas', async () => {
		await api().save('race', { value: 'start', expectedVersion: 0 });
		// A second replica: its own app and Redis connection on the same key prefix.
		const redis = createRedis(service.ctx.redisTarget);
		const replica = createApp({ ...service.ctx, redis }, service.batches);
		try {
			const answers = await Promise.all(
				Array.from({ length: 20 }, (_, n) =>
					on(n % 2 ? replica : service.app).save('race', { value: `run-${n}`, expectedVersion: 1 }),
				),
			);
			const won = answers.filter((a) => a.status === 200);
			const lost = answers.filter((a) => a.status === 409);
			expect(won).toHaveLength(1);
			expect(lost).toHaveLength(19);
			for (const answer of lost) {
				expect(answer.body.error).toMatchObject({ code: 'cursor_version_conflict' });
				expect(answer.body.error.message).toContain('is at version 2');
			}
			expect((await api().get('race')).body).toMatchObject({
				value: won[0].body.value,
				version: 2,
			});
		} finally {
			await redis.quit();
		}
	});

	it('answers a re-sent save (same saveId, lost answer) as saved, and nobody else', async () => {
		const body = { value: { id: 7 }, expectedVersion: 0, saveId: 'exec-5.0.abc' };
		expect((await api().save('resend', body)).body).toMatchObject({ version: 1, replayed: false });
		expect((await api().save('resend', body)).body).toMatchObject({ version: 1, replayed: true });
		const other = await api().save('resend', { ...body, saveId: 'exec-6.0.abc' });
		expect(other.status).toBe(409);
		const changed = await api().save('resend', { ...body, value: { id: 8 } });
		expect(changed.status).toBe(409);
	});

	it('refuses a damaged value instead of answering it, and says how to repair', async () => {
		await api().save('damaged', { value: { id: 100 }, expectedVersion: 0 });
		await service.ctx.redis.hset(key('damaged'), 'value', '{"id":1}');
		const read = await api().get('damaged');
		expect(read.status).toBe(409);
		expect(read.body.error.code).toBe('cursor_corrupt');
		expect(read.body.error.message).toContain('does not match its checksum');
		expect(read.body.error.message).toContain('expectedVersion 1');
		expect(JSON.stringify(read.body)).not.toContain('"id":1');

		// A checksum copied from another version (a restored old value) fails too.
		await api().save('copied', { value: 1, expectedVersion: 0 });
		const old = await service.ctx.redis.hgetall(key('copied'));
		await api().save('copied', { value: 2, expectedVersion: 1 });
		await service.ctx.redis.hset(key('copied'), 'value', old.value, 'checksum', old.checksum);
		expect((await api().get('copied')).status).toBe(409);

		await service.ctx.redis.hset(key('garbled'), 'version', 'x', 'value', '1', 'checksum', 'y');
		const garbled = await api().get('garbled');
		expect(garbled.body.error).toMatchObject({ code: 'cursor_corrupt' });
		const overGarbled = await api().save('garbled', { value: 1, expectedVersion: 0 });
		expect(overGarbled.status).toBe(409);
		expect(overGarbled.body.error.code).toBe('cursor_corrupt');

		// Repair: a value the operator trusts, saved from the version the error named.
		const repaired = await api().save('damaged', { value: { id: 100 }, expectedVersion: 1 });
		expect(repaired.body).toMatchObject({ version: 2 });
		expect((await api().get('damaged')).body).toMatchObject({ value: { id: 100 }, version: 2 });
	});

	it('deletes, optionally only from the version the caller saw', async () => {
		await api().save('gone', { value: 1, expectedVersion: 0 });
		const stale = await api().remove('gone', '?expectedVersion=5');
		expect(stale.status).toBe(409);
		expect(stale.body.error.code).toBe('cursor_version_conflict');
		expect((await api().remove('gone', '?expectedVersion=1')).body).toEqual({
			name: 'gone',
			deleted: true,
			version: 1,
		});
		expect((await api().get('gone')).status).toBe(404);
		expect((await api().remove('gone')).status).toBe(404);
		// Starting over: version 0 again.
		expect((await api().save('gone', { value: 2, expectedVersion: 0 })).body.version).toBe(1);
	});

	it('names what is wrong with a bad request', async () => {
		const cases: Array<[unknown, string]> = [
			[{ expectedVersion: 0 }, 'value'],
			[{ value: 1 }, 'expectedVersion'],
			[{ value: 1, expectedVersion: -1 }, 'expectedVersion'],
			[{ value: 1, expectedVersion: 1.5 }, 'expectedVersion'],
			[{ value: 1, expectedVersion: 0, versoin: 2 }, 'versoin'],
			[{ value: 'x'.repeat(MAX_CURSOR_BYTES), expectedVersion: 0 }, `${MAX_CURSOR_BYTES}-byte`],
		];
		for (const [body, mentions] of cases) {
			const answer = await api().save('bad', body);
			expect(answer.status).toBe(400);
			expect(answer.body.error.message).toContain(mentions);
		}
		const badName = await api().get('has%20space');
		expect(badName.status).toBe(400);
		expect(badName.body.error.message).toContain('name');
		expect((await api().remove('x', '?expectedVersion=soon')).status).toBe(400);
		expect((await api().get('bad')).status).toBe(404);
	});
});
