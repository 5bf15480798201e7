import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { cleanEnv, run } from '../process';

export const REPO_ROOT = resolve(__dirname, '..', '..', '..');

/**
 * Builds and packs the node package exactly as it would be published. The repo's .npmrc sets
 * ignore-scripts=true, so npm pack skips the prepack build: build explicitly first.
 */
export async function packNodePackage(outDir: string): Promise<string> {
	mkdirSync(outDir, { recursive: true });
	const logFile = join(outDir, 'pack.log');
	await run('npm', ['run', 'build'], { cwd: REPO_ROOT, logFile });
	const raw = execFileSync('npm', ['pack', '--json', '--pack-destination', resolve(outDir)], {
		cwd: REPO_ROOT,
		env: cleanEnv(),
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	const [packed] = JSON.parse(raw) as Array<{ filename: string; files: Array<{ path: string }> }>;
	const tarball = join(resolve(outDir), packed.filename);
	if (!existsSync(tarball)) throw new Error(`npm pack reported ${tarball} but it is missing`);
	if (!packed.files.some((file) => file.path.startsWith('dist/nodes/'))) {
		throw new Error(`${tarball} holds no dist/nodes files; did the build produce any?`);
	}
	return tarball;
}
