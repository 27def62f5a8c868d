#!/usr/bin/env bash
# CI step, called by .ci/run after the default run (it can run alone too):
#   1. the whole suite a second time under AddressSanitizer +
#      UndefinedBehaviorSanitizer (`bazel test --config=sanitize //...`; see
#      .bazelrc: UBSan fatal, -c dbg so its outputs live beside the default
#      build's);
#   2. the core's concurrency tests under ThreadSanitizer (`--config=tsan`,
#      with the absl::Mutex annotations of //testing/tsan; docs/reliability.md).
#
# Prints Bazel's output, then as its last line "N passed, N failed" for the
# test cases of both runs (counted by .ci/count_tests.py from the JUnit XML
# of each configuration). Exit status non-zero when bazel fails or any test
# case fails.
set -uo pipefail
cd "$(dirname "$0")/.."

log="$(mktemp)"
trap 'rm -f "$log" "$log.asan" "$log.tsan"' EXIT

TSAN_TARGETS="//core:concurrency_test //core:cached_function_test //core:striped_counters_test //testing/tsan:absl_mutex_annotations_test"

# Counts one run: $1 label, $2 bazel exit status, $3 targets, $4 config
# (empty for none), $5 bazel output; prints "N passed, N failed".
count() {
  BAZEL_RC="$2" TARGETS="$3" LABEL="[$1] " \
    TESTLOGS="$(bazel info $4 bazel-testlogs 2>/dev/null)" \
    python3 .ci/count_tests.py "$5"
}

bazel test --config=sanitize //... 2>&1 | tee "$log"
asan_rc=${PIPESTATUS[0]}
targets="$(bazel query --keep_going --output=label \
  'tests(//...) except attr("tags", "[\[ ]manual[,\]]", //...)' 2>/dev/null)"
count sanitize "$asan_rc" "$targets" --config=sanitize "$log" | tee "$log.asan"
asan_count_rc=${PIPESTATUS[0]}

# shellcheck disable=SC2086  # the target list is split on purpose
bazel test --config=tsan $TSAN_TARGETS 2>&1 | tee "$log"
tsan_rc=${PIPESTATUS[0]}
count tsan "$tsan_rc" "$TSAN_TARGETS" --config=tsan "$log" | tee "$log.tsan"
tsan_count_rc=${PIPESTATUS[0]}

python3 .ci/sum_counts.py "$(tail -n 1 "$log.asan")" "$(tail -n 1 "$log.tsan")"
for rc in "$asan_rc" "$asan_count_rc" "$tsan_rc" "$tsan_count_rc"; do
  [ "$rc" -ne 0 ] && exit 1
done
exit 0
