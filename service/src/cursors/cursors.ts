/**
 * Cursors: named durable values (for instance the highest `updated_at` an incremental job has
 * exported), each with a version and a checksum.
 *
 *   const cursors = new Cursors(ctx);
 *   const loaded = await cursors.load('orders-export');          // 404 until the first save
 *   await cursors.save('orders-export', { value: next, expectedVersion: loaded.version });
 *
 * A save names the version it started from; one from a stale version is refused (409), so two
 * runs cannot move a cursor backwards and of two racing saves one wins. The checksum covers the
 * name, version and value: a value damaged or changed outside the service is refused (409),
 * never answered. Errors are ApiError, ready for the HTTP layer.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';

import { cursorChecksumText, MAX_CURSOR_BYTES } from '../../../nodes/shared/contract';

import type { ServiceContext } from '../context';
import { ApiError } from '../http/errors';
import { whileRedisAway } from '../redis/retry';
import { loadScripts, type LuaScript } from '../redis/scripts';

export interface Cursor {
	name: string;
	value: unknown;
	version: number;
	checksum: string;
	updatedAt: string;
	/** Who saved this version, as the saver described itself (an n8n execution), or null. */
	savedBy: string | null;
}

export interface SaveInput {
	value: unknown;
	/** The version the saver loaded; 0 when the cursor must not exist yet. */
	expectedVersion: number;
	/** Names this save, so a re-send after a lost answer is recognised. */
	saveId?: string;
	savedBy?: string;
}

export const checksumOf = (name: string, version: number, valueJson: string): string =>
	createHash('sha256')
		.update(cursorChecksumText(name, version, valueJson))
		.digest('hex');

type Reply = Array<string | number>;

export class Cursors {
	private readonly scripts: Record<string, LuaScript>;

	constructor(private readonly ctx: ServiceContext) {
		this.scripts = loadScripts(ctx.redis, path.join(__dirname, 'lua'));
	}

	async load(name: string): Promise<Cursor> {
		const stored = await this.ctx.redis.hgetall(this.ctx.keys.cursor(name));
		if (Object.keys(stored).length === 0) throw notFound(name);
		return verified(name, stored);
	}

	async save(name: string, input: SaveInput): Promise<Cursor & { replayed: boolean }> {
		const valueJson = JSON.stringify(input.value);
		const bytes = Buffer.byteLength(valueJson);
		if (bytes > MAX_CURSOR_BYTES) {
			throw new ApiError(
				400,
				'cursor_too_large',
				`Invalid value: ${bytes} bytes of JSON, over the ${MAX_CURSOR_BYTES}-byte limit of a cursor; save a position (an id, a timestamp), not data`,
				[{ path: 'value', message: `${bytes} bytes, at most ${MAX_CURSOR_BYTES}` }],
			);
		}
		const version = input.expectedVersion + 1;
		const checksum = checksumOf(name, version, valueJson);
		const reply = await this.run('saveCursor', name, [
			input.expectedVersion,
			valueJson,
			checksum,
			input.saveId ?? '',
			input.savedBy ?? '',
		]);
		const code = Number(reply[0]);
		if (code === -1) throw staleVersion(name, input.expectedVersion, reply);
		if (code === -2)
			throw corrupt(name, `its stored version '${String(reply[1])}' is not a number`);
		return {
			name,
			value: input.value,
			version: Number(reply[1]),
			checksum,
			updatedAt: new Date(Number(reply[2])).toISOString(),
			savedBy: input.savedBy || null,
			replayed: code === 2,
		};
	}

	async remove(name: string, expectedVersion?: number): Promise<{ name: string; version: number }> {
		const reply = await this.run('deleteCursor', name, [expectedVersion ?? '']);
		const code = Number(reply[0]);
		if (code === 0) throw notFound(name);
		if (code === -1) {
			throw new ApiError(
				409,
				'cursor_version_conflict',
				`Cursor '${name}' is at version ${reply[1]}, not ${expectedVersion}: it was saved since you read it; nothing was deleted`,
			);
		}
		return { name, version: Number(reply[1]) };
	}

	/** Saves and deletes are retried while Redis is away; the save id makes a re-sent save safe. */
	private run(script: string, name: string, args: Array<string | number>): Promise<Reply> {
		const deadline = performance.now() + this.ctx.config.REDIS_RETRY_MS;
		const key = this.ctx.keys.cursor(name);
		return whileRedisAway(() => this.scripts[script](key, ...args) as Promise<Reply>, deadline);
	}
}

/** Checks a stored cursor against its checksum; anything that does not add up is refused. */
function verified(name: string, stored: Record<string, string>): Cursor {
	const version = Number(stored.version);
	if (!Number.isInteger(version) || version < 1) {
		throw corrupt(name, `its stored version '${stored.version ?? ''}' is not a version`);
	}
	if (stored.value === undefined || stored.checksum !== checksumOf(name, version, stored.value)) {
		throw corrupt(name, 'its value does not match its checksum', version);
	}
	let value: unknown;
	try {
		value = JSON.parse(stored.value);
	} catch {
		throw corrupt(name, 'its value is not JSON', version);
	}
	const updatedAt = Number(stored.updatedAt);
	return {
		name,
		value,
		version,
		checksum: stored.checksum,
		updatedAt: new Date(Number.isFinite(updatedAt) ? updatedAt : 0).toISOString(),
		savedBy: stored.savedBy || null,
	};
}

const notFound = (name: string) =>
	new ApiError(
		404,
		'cursor_not_found',
		`No cursor named '${name}' yet: the first Save Cursor creates it (expectedVersion 0)`,
	);

function corrupt(name: string, what: string, version?: number): ApiError {
	const repair =
		version === undefined
			? `delete it (DELETE /v1/cursors/${name}) and start the job over`
			: `save a value you trust with expectedVersion ${version}, or delete it (DELETE /v1/cursors/${name}) and start the job over`;
	return new ApiError(
		409,
		'cursor_corrupt',
		`Cursor '${name}' is damaged: ${what}. It was changed outside Batch Guardian or damaged in storage, so it is not used. Check the source, then ${repair}`,
		version === undefined ? undefined : [{ path: 'version', message: String(version) }],
	);
}

function staleVersion(name: string, expected: number, reply: Reply): ApiError {
	const current = Number(reply[1]);
	const at = Number(reply[2]);
	const when = Number.isFinite(at) && at > 0 ? ` at ${new Date(at).toISOString()}` : '';
	const by = reply[3] ? ` by ${String(reply[3])}` : '';
	let what = `is at version ${current} (saved${when}${by}), not at version ${expected} that this save started from`;
	if (expected === 0) {
		what = `already exists at version ${current} (saved${when}${by}), and this save expected it not to exist yet`;
	} else if (current === 0) {
		what = `does not exist (deleted, or never saved), and this save started from version ${expected}`;
	}
	return new ApiError(
		409,
		'cursor_version_conflict',
		`Cursor '${name}' ${what}: another run moved it first. This save was refused so the cursor cannot move backwards; load the cursor again and redo the work from there`,
		[{ path: 'expectedVersion', message: `the cursor is at version ${current}` }],
	);
}
