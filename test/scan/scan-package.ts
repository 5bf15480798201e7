/**
 * n8n's verification scan (@n8n/scan-community-package) on the package as it would be published:
 * build and pack it, unpack the tarball into a temp folder, and lint it with the scanner's own
 * config. Its CLI only fetches published packages, so this calls its exported functions. Like
 * n8n's gate it also lints the sources it was built from (nodes/, credentials/, package.json).
 * Exits non-zero on any error or warning, printing each. Run: npx tsx test/scan/scan-package.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import { packNodePackage, REPO_ROOT } from '../../scripts/lib/n8n/pack';

interface LintMessage {
	ruleId: string | null;
	severity: number;
	message: string;
	line: number;
	column: number;
}
interface LintResult {
	filePath: string;
	messages: LintMessage[];
}
interface Scanner {
	analyzePackage(dir: string, patterns?: string[]): Promise<{ passed: boolean; message?: string }>;
	buildScanConfig(): Promise<unknown>;
	SOURCE_FILE_PATTERNS: string[];
}
interface EslintModule {
	ESLint: new (options: object) => { lintFiles(patterns: string[]): Promise<LintResult[]> };
}

// tsx would turn import() into require(); these two are ES modules, so load them natively.
const importEsm = new Function('specifier', 'return import(specifier)') as <T>(
	s: string,
) => Promise<T>;

/** The scanner's verdict (errors only) plus every warning, from the same config it uses. */
async function scan(scanner: Scanner, dir: string, patterns?: string[]) {
	const verdict = await scanner.analyzePackage(dir, patterns);
	const { ESLint } = await importEsm<EslintModule>('eslint');
	const eslint = new ESLint({
		cwd: dir,
		allowInlineConfig: false,
		overrideConfigFile: true,
		overrideConfig: await scanner.buildScanConfig(),
		errorOnUnmatchedPattern: false,
	});
	const results = await eslint.lintFiles(patterns ?? ['**/*.js', '**/*.ts', '**/*.json']);
	const problems = results.flatMap((result) =>
		result.messages.map(
			(m) =>
				`${relative(dir, result.filePath)}:${m.line}:${m.column} ${m.severity === 2 ? 'error' : 'warning'} ${m.message} (${m.ruleId ?? 'parse'})`,
		),
	);
	if (!verdict.passed && problems.length === 0) problems.push(verdict.message ?? 'scan failed');
	return problems;
}

async function main(): Promise<number> {
	const work = mkdtempSync(join(tmpdir(), 'bg-scan-'));
	try {
		const tarball = await packNodePackage(join(work, 'pack'));
		const unpacked = join(work, 'package');
		mkdirSync(unpacked);
		execFileSync('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);
		const scanner = await importEsm<Scanner>(
			join(REPO_ROOT, 'node_modules/@n8n/scan-community-package/scanner/scanner.mjs'),
		);
		const legs: Array<[string, string, string[] | undefined]> = [
			['packed tarball', unpacked, undefined],
			['sources', REPO_ROOT, scanner.SOURCE_FILE_PATTERNS],
		];
		let failed = 0;
		for (const [name, dir, patterns] of legs) {
			const problems = await scan(scanner, dir, patterns);
			console.log(`n8n verification scan, ${name}: ${problems.length} problem(s)`);
			for (const problem of problems) console.log(`  ${problem}`);
			failed += problems.length;
		}
		return failed === 0 ? 0 : 1;
	} finally {
		rmSync(work, { recursive: true, force: true });
	}
}

main().then(
	(code) => process.exit(code),
	(error: unknown) => {
		console.error(error);
		process.exit(1);
	},
);
