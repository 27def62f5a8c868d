#!/usr/bin/env bash
# CI step: the whole suite a second time under AddressSanitizer +
# UndefinedBehaviorSanitizer (`bazel test --config=sanitize //...`, see
# .bazelrc: UBSan fatal, -c dbg so its outputs live beside the default
# build's). Called by .ci/run after the default run; can run alone too.
#
# Prints Bazel's output, then as its last line "N passed, N failed" for the
# test cases of this run (counted by .ci/count_tests.py from the JUnit XML of
# the sanitize configuration). Exit status non-zero when bazel fails or any
# test case fails.
set -uo pipefail
cd "$(dirname "$0")/.."

log="$(mktemp)"
trap 'rm -f "$log"' EXIT

bazel test --config=sanitize //... 2>&1 | tee "$log"
bazel_rc=${PIPESTATUS[0]}

# The same targets as the default run (manual ones left out).
targets="$(bazel query --keep_going --output=label \
  'tests(//...) except attr("tags", "[\[ ]manual[,\]]", //...)' 2>/dev/null)"

BAZEL_RC="$bazel_rc" TARGETS="$targets" LABEL="[sanitize] " \
  TESTLOGS="$(bazel info --config=sanitize bazel-testlogs 2>/dev/null)" \
  python3 .ci/count_tests.py "$log"
count_rc=$?
if [ "$bazel_rc" -ne 0 ] || [ "$count_rc" -ne 0 ]; then
  exit 1
fi
exit 0
