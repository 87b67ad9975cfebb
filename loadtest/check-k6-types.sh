#!/usr/bin/env bash
# Type-checks the k6 scripts against @types/k6 (loadtest/tsconfig.json) and the k6-free runner
# against Node's types (loadtest/runner/tsconfig.json), and the unit specs. Nothing is emitted.
set -euo pipefail
cd "$(dirname "$0")/.."
npx tsc -p loadtest/tsconfig.json --noEmit
npx tsc -p loadtest/runner/tsconfig.json --noEmit
npx tsc -p loadtest/tsconfig.spec.json --noEmit
echo "loadtest: k6 scripts and runner type-check"
