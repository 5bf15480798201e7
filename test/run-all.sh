#!/usr/bin/env bash
# `npm test`: lint, type-check, then the unit, integration (real Redis) and end-to-end
# (real n8n 2.x + service + Redis) suites, and the e-mail and fan-out end-to-end tests once more
# on n8n's queue mode (e2e-queue). Ends with one line "tests: N passed, N failed".
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

# Every suite tears its own processes, connections and keys down in afterAll, so jest exits by
# itself; the timeout only turns a hang nobody foresaw into a failure with a message.
for suite in unit integration browser e2e e2e-queue; do
	step "$suite tests"
	timeout --signal=TERM --kill-after=60 40m \
		npx jest --ci --runInBand --selectProjects "$suite" --json --outputFile "$results/$suite.json" ||
		{
			status=1
			[ -s "$results/$suite.json" ] || echo "{\"numPassedTests\":0,\"numFailedTests\":0,\"numRuntimeErrorTestSuites\":1}" >"$results/$suite.json"
			echo "$suite tests failed or did not exit in time"
		}
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
