#!/usr/bin/env bash
# make bench: measures tracelite and rewrites docs/benchmarks.md from the
# figures of this run (tests/bench.py).  BENCH_SCALE=small gives a quick run
# for trying the script; the committed figures come from the default scale.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
case "$BUILD" in /*) ;; *) BUILD="$PWD/$BUILD" ;; esac
export TL_SO="$BUILD/tracelite" TL_BUILD="$BUILD"
export TL_TRACES=${TL_TRACES:-$(cd .. && pwd)/shared/traces}
exec /usr/bin/python3 tests/bench.py "$@"
