#!/usr/bin/env bash
# tests/run.sh — runs every test of tracelite and ends with one line
# "N passed, N failed".  Called by `make test` (and `make asan` with
# BUILD=build-asan).  Kinds of test, each printing PASS/FAIL lines:
#   unit    build/tests/test_*          C unit tests (tests/unit)
#   replay  build/replay/fuzz_*         fuzz corpora in testdata/fuzz/<target>
#   sql     tests/sql/*.sql             sqlite3 shell scripts vs *.expected
#   py      tests/py/test_*.py          Python (Debian's python3) loading the .so
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export TL_SO="$PWD/$BUILD/tracelite"
export TL_BUILD="$PWD/$BUILD"
export TL_TRACES=${TL_TRACES:-$(cd .. && pwd)/shared/traces}
PY=/usr/bin/python3

# An ASan build of the extension loaded into uninstrumented programs (the
# sqlite3 shell, python3) needs the sanitizer runtimes preloaded.
if ldd "$TL_SO.so" 2>/dev/null | grep -q libasan; then
  export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)"
  export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=0:abort_on_error=1}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi

passed=0 failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Counts the PASS/FAIL lines of one program's output; a program that exits
# non-zero without any FAIL line (a crash) counts as one failure.
count() { # name, exit code, output file
  local p f
  p=$(grep -c '^PASS ' "$3" || true)
  f=$(grep -c '^FAIL ' "$3" || true)
  grep '^FAIL ' "$3" | sed "s|^|[$1] |"
  if [ "$2" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL [$1] exited with status $2:"; tail -20 "$3" | sed 's/^/    /'
    f=1
  fi
  passed=$((passed + p)) failed=$((failed + f))
}

for t in "$BUILD"/tests/test_*; do
  [ -x "$t" ] || continue
  LOCPATH="$BUILD/locale" "$t" >"$log" 2>&1; rc=$?
  count "$(basename "$t")" $rc "$log"
done

for t in "$BUILD"/replay/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  if "$t" "testdata/fuzz/$name" >"$log" 2>&1; then
    echo "PASS replay $name" >"$log"
  else
    echo "FAIL replay $name: $(tail -5 "$log" | tr '\n' ' ')" >"$log"
  fi
  count "replay" 0 "$log"
done

for t in tests/sql/*.sql; do
  [ -f "$t" ] || continue
  exp="${t%.sql}.expected"
  out=$(mktemp)
  (cd tests/sql && sqlite3 -batch -bail :memory: -cmd ".load $TL_SO" <"$(basename "$t")") >"$out" 2>&1
  if diff -u "$exp" "$out" >"$log.diff" 2>&1; then
    echo "PASS $t" >"$log"
  else
    { echo "FAIL $t: output differs from $exp"; sed 's/^/    /' "$log.diff" | head -40; } >"$log"
    cat "$log" | tail -n +2
  fi
  rm -f "$out" "$log.diff"
  count sql 0 "$log"
done

if ls tests/py/test_*.py >/dev/null 2>&1; then
  "$PY" tests/py/runner.py >"$log" 2>&1; rc=$?
  count py $rc "$log"
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
