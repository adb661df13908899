#!/usr/bin/env bash
# make bench: every stage's figures, then one table. Figures only: nothing here passes or fails
# on a timing. Each benchmark prints logfmt lines beginning with bench=NAME.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
BUILD=${BUILD:-build}
out=$BUILD/bench/results.txt
mkdir -p "$BUILD/bench"
: > "$out"
export SHARED_DATA=${SHARED_DATA:-$ROOT/../shared/data}

run() { # name command...
  echo "== $1"
  shift
  "$@" 2>&1 | tee -a "$out" | grep -E '^(bench|codec|format|geo|hostmap|window)' || echo "   (failed: see above)"
}
for b in "$BUILD"/bench/bench_*; do
  [ -x "$b" ] && run "$(basename "$b")" "$b"
done
for s in bench/*.sh; do
  [ "$(basename "$s")" = run.sh ] && continue
  run "$(basename "$s" .sh)" bash "$s"
done

echo
echo "== summary (all figures measured in this run, on $(nproc) cores)"
grep -hE '^[a-z]' "$out" | sed 's/^/  /'
