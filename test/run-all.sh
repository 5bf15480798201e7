#!/usr/bin/env bash
# `npm test`: lint, type-check, then the unit, integration (real Redis) and end-to-end
# (real n8n 2.x + service + Redis) suites. Ends with one line "tests: N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
status=0

step() { printf '\n=== %s\n' "$1"; }

step 'lint (n8n community-node rules, prettier)'
npm run --silent lint || status=1
step "n8n's verification scan of the packed package"
npx tsx test/scan/scan-package.ts || status=1
step 'type-check'
npm run --silent typecheck || status=1

# --forceExit: a suite that passed but left a handle open (seen in integration, not yet found)
# must not hang CI; every suite tears its own processes and keys down in afterAll.
for suite in unit integration e2e; do
	step "$suite tests"
	npx jest --ci --runInBand --forceExit --selectProjects "$suite" --json --outputFile "$results/$suite.json" || status=1
done

node -e '
const fs = require("fs");
let passed = 0, failed = 0;
for (const f of fs.readdirSync(process.argv[1])) {
	const r = JSON.parse(fs.readFileSync(process.argv[1] + "/" + f, "utf8"));
	passed += r.numPassedTests;
	failed += r.numFailedTests + r.numRuntimeErrorTestSuites;
}
console.log(`\ntests: ${passed} passed, ${failed} failed`);
' "$results"
exit $status
