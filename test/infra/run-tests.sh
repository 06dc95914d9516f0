#!/usr/bin/env bash
# The test command (`npm test`): brings up what the suite needs, builds, then runs every jest project.
# Extra arguments go to jest, e.g. `npm test -- test/integration/rpc`.
set -euo pipefail
cd "$(dirname "$0")/../.."

export FERRY_TEST_DATABASE_URL=${FERRY_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export FERRY_TEST_TRANSPORT_URL=${FERRY_TEST_TRANSPORT_URL:-amqp://guest:guest@127.0.0.1:5672}
bash test/infra/ensure-services.sh

# Process-level tests start the built `ferry` command, so the build must be current.
npx tsc -b

results=$(mktemp)
trap 'rm -f "$results"' EXIT
args=(--maxWorkers=2 --json --outputFile="$results")
if [ "${CI:-}" = "true" ]; then args+=(--ci); fi
status=0
npx jest "${args[@]}" "$@" || status=$?
# One plain closing line: how many tests passed and failed.
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`jest: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
' "$results" 2>/dev/null || echo "jest: no results written (exit $status)"
exit "$status"
