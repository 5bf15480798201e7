import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

/**
 * Registers every `<name>-<numKeys>.lua` in a folder as a Redis command on the connection
 * (ioredis sends EVALSHA, falling back to EVAL after a script flush or failover).
 * Each script opens with a comment listing its KEYS, ARGV and return values.
 */
export function defineScripts(redis: Redis, dir: string): void {
	for (const file of readdirSync(dir)) {
		const match = /^(.+)-(\d+)\.lua$/.exec(file);
		if (!match) continue;
		const [, name, numberOfKeys] = match;
		if (typeof (redis as unknown as Record<string, unknown>)[camel(name)] === 'function') continue;
		redis.defineCommand(camel(name), {
			numberOfKeys: Number(numberOfKeys),
			lua: readFileSync(path.join(dir, file), 'utf8'),
		});
	}
}

function camel(name: string): string {
	return name.replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
}
