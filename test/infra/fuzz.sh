#!/usr/bin/env bash
# The long fuzz run (`npm run fuzz`): the route-table fuzzer with more requests and any seed.
# FERRY_FUZZ_RUNS (default 20000) and FERRY_FUZZ_SEED (default: random) choose the run; the seed is printed, and a
# failure prints the command that replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."

export FERRY_TEST_DATABASE_URL=${FERRY_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export FERRY_TEST_TRANSPORT_URL=${FERRY_TEST_TRANSPORT_URL:-amqp://guest:guest@127.0.0.1:5672}
export FERRY_FUZZ_RUNS=${FERRY_FUZZ_RUNS:-20000}
export FERRY_FUZZ_SEED=${FERRY_FUZZ_SEED:-$((RANDOM * 32768 + RANDOM))}
bash test/infra/ensure-services.sh

# jest compiles the TypeScript itself: no build needed.
npx jest test/integration/api/fuzz/api-fuzz.test.ts "$@"
