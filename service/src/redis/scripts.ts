import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import type { RedisClient } from './connection';
import { BATCH_KEY_PARTS } from './keys';

/** A registered script: KEYS first (exactly numberOfKeys of them), then ARGV. */
export type LuaScript = (...keysThenArgs: Array<string | number>) => Promise<unknown>;

/**
 * Registers every `<name>-<numKeys>.lua` of a folder as a command on the connection (ioredis sends
 * EVALSHA and falls back to EVAL after a script flush or a failover) and returns them by camel-case
 * name. Each script opens with a comment listing its KEYS, ARGV and reply.
 *
 * Two directives are expanded before loading:
 *   `--- @include "name"`  pastes `includes/<name>.lua` (recursively, each file once per script),
 *   `--- @batch-keys`      defines `K.<part>` for every batch key part, from BATCH_KEY_PARTS, so the
 *                          key order lives only in redis/keys.ts.
 */
export function loadScripts(redis: RedisClient, dir: string): Record<string, LuaScript> {
	const scripts: Record<string, LuaScript> = {};
	const commands = redis as unknown as Record<string, LuaScript>;
	for (const file of readdirSync(dir).sort()) {
		const match = /^(.+)-(\d+)\.lua$/.exec(file);
		if (!match) continue;
		const name = camel(match[1]);
		if (typeof commands[name] !== 'function') {
			const lua = expand(readFileSync(path.join(dir, file), 'utf8'), dir, new Set());
			const numberOfKeys = Number(match[2]);
			if (lua.includes(BATCH_KEYS_MARK) && numberOfKeys !== BATCH_KEY_PARTS.length) {
				throw new Error(
					`${file}: batch scripts take all ${BATCH_KEY_PARTS.length} batch keys; rename it to ${match[1]}-${BATCH_KEY_PARTS.length}.lua`,
				);
			}
			redis.defineCommand(name, { numberOfKeys, lua });
		}
		scripts[name] = commands[name].bind(redis);
	}
	return scripts;
}

function expand(lua: string, dir: string, seen: Set<string>): string {
	return lua
		.replace(/^--- @include "([a-z0-9-]+)"$/gm, (_line, name: string) => {
			if (seen.has(name)) return `-- (${name} already included)`;
			seen.add(name);
			return expand(readFileSync(path.join(dir, 'includes', `${name}.lua`), 'utf8'), dir, seen);
		})
		.replace(/^--- @batch-keys$/gm, () => batchKeyTable());
}

const BATCH_KEYS_MARK = '-- batch keys, from BATCH_KEY_PARTS';

function batchKeyTable(): string {
	const fields = BATCH_KEY_PARTS.map(
		(part, i) => `  ['${part === '' ? 'batch' : part}'] = KEYS[${i + 1}],`,
	);
	return `${BATCH_KEYS_MARK}\nlocal K = {\n${fields.join('\n')}\n}`;
}

function camel(name: string): string {
	return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}

/** Registers the scripts of a folder without returning them (callers that bind by name). */
export function defineScripts(redis: RedisClient, dir: string): void {
	loadScripts(redis, dir);
}
