import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * A value from the environment if set, else one generated on first use and kept in `file`
 * (mode 0600) so restarts reuse it: credentials saved in n8n keep working.
 */
export function persistentSecret(
	file: string,
	fromEnv: string | undefined,
	generate: () => string,
): { value: string; source: 'env' | 'file' | 'generated' } {
	if (fromEnv) return { value: fromEnv, source: 'env' };
	if (existsSync(file)) {
		const stored = readFileSync(file, 'utf8').trim();
		if (stored) return { value: stored, source: 'file' };
	}
	const value = generate();
	mkdirSync(dirname(file), { recursive: true });
	writeFileSync(file, `${value}\n`, { mode: 0o600 });
	return { value, source: 'generated' };
}

export const generateApiKey = () => randomBytes(24).toString('hex');

/** n8n wants 8+ characters with a digit and an upper-case letter; the prefix guarantees both. */
export const generatePassword = () => `Bg7-${randomBytes(12).toString('base64url')}`;
