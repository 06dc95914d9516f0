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

args=(--maxWorkers=2)
if [ "${CI:-}" = "true" ]; then args+=(--ci); fi
exec npx jest "${args[@]}" "$@"
