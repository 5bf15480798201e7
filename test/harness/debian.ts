import { spawnSync } from 'node:child_process';

/**
 * Makes sure a program from a Debian package is installed: as root with apt-get it installs the
 * package (a fresh machine or CI), otherwise it throws a message saying how to get it.
 */
export function ensureDebianPackage(command: string, versionArgs: string[], pkg: string): void {
	if (spawnSync(command, versionArgs).status === 0) return;
	const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
	if (!isRoot || spawnSync('apt-get', ['--version']).error) {
		throw new Error(
			`${command} is not installed. Install Debian's package: \`sudo apt-get install -y ${pkg}\` (other systems: your package manager's ${pkg}), then run the tests again.`,
		);
	}
	console.log(`[setup] ${command} missing: installing Debian package ${pkg}`);
	for (const args of [['update'], ['install', '-y', '--no-install-recommends', pkg]]) {
		const result = spawnSync('apt-get', args, {
			stdio: 'inherit',
			env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
		});
		if (result.status !== 0)
			throw new Error(
				`apt-get ${args.join(' ')} failed; install ${pkg} by hand and run the tests again`,
			);
	}
	if (spawnSync(command, versionArgs).status !== 0)
		throw new Error(`${pkg} was installed but \`${command} ${versionArgs.join(' ')}\` still fails`);
}
