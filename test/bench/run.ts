import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench -- <name>` runs test/bench/<name>.bench.ts. Each benchmark runs its competitor
 * in the same run, prints a ratio, and ends with one line `RESULT <name> key=value ...`.
 */
async function main(): Promise<void> {
	const name = process.argv[2];
	const available = readdirSync(__dirname)
		.filter((f) => f.endsWith('.bench.ts'))
		.map((f) => f.replace(/\.bench\.ts$/, ''));
	const file = path.join(__dirname, `${name}.bench.ts`);
	if (!name || !existsSync(file)) {
		console.error(`Usage: npm run bench -- <name>; available: ${available.join(', ') || '(none)'}`);
		process.exit(2);
	}
	const bench = (await import(file)) as { run(args: string[]): Promise<void> };
	await bench.run(process.argv.slice(3));
}

main().then(
	() => process.exit(0),
	(error: unknown) => {
		console.error(error);
		process.exit(1);
	},
);
