import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

const LUA_DIR = path.join(__dirname, 'lua');

/** Raw reply of a batch script: a negative code, or an array of integers and strings. */
export type ScriptReply = number | Array<string | number>;
type Script = (key: string, ...args: Array<string | number>) => Promise<ScriptReply>;

export type ScriptName =
	| 'appendItems'
	| 'breaker'
	| 'claimItems'
	| 'controlBatch'
	| 'createBatch'
	| 'dispatchStart'
	| 'parkChunk'
	| 'releaseLease'
	| 'replayDeadLetters'
	| 'sealBatch'
	| 'settleItems';

/**
 * Registers lua/<name>-1.lua as commands on the connection. `--- @include "x"` lines are replaced
 * by lua/includes/x.lua (as BullMQ does), so the item and batch rules are written once.
 */
export function batchScripts(redis: Redis): Record<ScriptName, Script> {
	const commands = redis as unknown as Record<string, Script>;
	for (const file of readdirSync(LUA_DIR)) {
		const match = /^(.+)-(\d+)\.lua$/.exec(file);
		if (!match) continue;
		const name = camel(match[1]);
		if (typeof commands[name] === 'function') continue;
		redis.defineCommand(name, {
			numberOfKeys: Number(match[2]),
			lua: withIncludes(readFileSync(path.join(LUA_DIR, file), 'utf8')),
		});
	}
	return new Proxy({} as Record<ScriptName, Script>, {
		get: (_target, name: string) => commands[name].bind(redis),
	});
}

function withIncludes(lua: string): string {
	return lua.replace(/^--- @include "([a-z-]+)"$/m, (_line, name: string) =>
		readFileSync(path.join(LUA_DIR, 'includes', `${name}.lua`), 'utf8'),
	);
}

function camel(name: string): string {
	return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
