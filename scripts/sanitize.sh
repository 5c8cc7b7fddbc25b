#!/usr/bin/env bash
# The whole test suite under AddressSanitizer, then ThreadSanitizer (the thread pool, the buffer pool,
# the kernels' per-thread scratch, the serving engine). Each builds into its own scratch directory
# (release, as the suite always runs: debug numeric code is 10-100x slower; instrumented, tens of minutes
# on two cores) and fails on the first report. Third-party races TSan cannot see through are suppressed, each
# with its reason, in scripts/tsan-suppressions.txt.
#   scripts/sanitize.sh [address|thread ...]   (default: both)
set -euo pipefail
cd "$(dirname "$0")/.."
for sanitizer in "${@:-address thread}"; do
  for s in $sanitizer; do
    echo "== swift test --sanitize=$s" >&2
    ASAN_OPTIONS=detect_leaks=0 TSAN_OPTIONS="halt_on_error=1 suppressions=$PWD/scripts/tsan-suppressions.txt" \
      swift test -c release --sanitize="$s" --no-parallel --scratch-path ".build-$s"
  done
done
