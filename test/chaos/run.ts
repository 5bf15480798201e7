import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run chaos -- <scenario>` runs test/chaos/<scenario>.chaos.ts: a fault injected into a real
 * run, ending with one line `RESULT chaos scenario=<name> items=... lost=... duplicates=...`.
 */
async function main(): Promise<void> {
	const name = process.argv[2];
	const available = readdirSync(__dirname)
		.filter((f) => f.endsWith('.chaos.ts'))
		.map((f) => f.replace(/\.chaos\.ts$/, ''));
	const file = path.join(__dirname, `${name}.chaos.ts`);
	if (!name || !existsSync(file)) {
		console.error(
			`Usage: npm run chaos -- <scenario>; available: ${available.join(', ') || '(none)'}`,
		);
		process.exit(2);
	}
	const scenario = (await import(file)) as { run(args: string[]): Promise<void> };
	await scenario.run(process.argv.slice(3));
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		console.error(error);
		process.exit(1);
	},
);
