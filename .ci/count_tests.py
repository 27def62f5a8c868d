#!/usr/bin/env python3
"""Counts test cases of the targets bazel just tested; prints 'N passed, N failed'.

Usage (from .ci/run and .ci/sanitizers.sh):
  BAZEL_RC=<exit status of bazel test> TARGETS=<labels> TESTLOGS=<bazel-testlogs
  of that run's configuration> [LABEL=<prefix for messages>] \
      python3 .ci/count_tests.py <file holding bazel test's output>

Per target, the status comes from Bazel's summary line (PASSED, (cached) PASSED,
FLAKY, FAILED, TIMEOUT, NO STATUS, FAILED TO BUILD, ...). Passing or failing targets
contribute their test.xml cases (shards and runs included); a failing target counts
at least one failure even when its binary crashed before writing XML; a target that
did not run at all (build failure, no status) counts as one failure, so a stale
test.xml from an earlier run is never read for it.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET

bazel_rc = int(os.environ["BAZEL_RC"])
targets = [t for t in os.environ["TARGETS"].split() if t.startswith("//")]
testlogs = os.environ["TESTLOGS"] or "bazel-testlogs"
label = os.environ.get("LABEL", "")
status_re = re.compile(
    r"^(//\S+)\s+(?:\(cached\)\s+)?"
    r"(PASSED|FLAKY|FAILED TO BUILD|FAILED|TIMEOUT|NO STATUS|INCOMPLETE|REMOTE FAILURE|SKIPPED|BUILT)\b")
status = {}
with open(sys.argv[1], errors="replace") as f:
    for line in f:
        m = status_re.match(line.strip())
        if m:
            status[m.group(1)] = m.group(2)


def xml_files(target):
    pkg, name = target[2:].split(":", 1)
    base = os.path.join(testlogs, pkg, name)
    if os.path.isfile(os.path.join(base, "test.xml")):
        return [os.path.join(base, "test.xml")]
    files = []  # sharded (shard_1_of_4/) or repeated (run_1_of_3/) tests
    if os.path.isdir(base):
        for d in sorted(os.listdir(base)):
            if re.fullmatch(r"(shard|run)_\d+_of_\d+", d):
                for root, _, names in os.walk(os.path.join(base, d)):
                    files += [os.path.join(root, n) for n in names if n == "test.xml"]
    return files


def count_cases(files):
    passed = failed = 0
    for path in files:
        try:
            root = ET.parse(path).getroot()
        except (ET.ParseError, OSError):
            failed += 1
            continue
        for case in root.iter("testcase"):
            if case.find("failure") is not None or case.find("error") is not None:
                failed += 1
            elif case.get("status") == "notrun" or case.find("skipped") is not None:
                pass  # disabled or skipped: neither passed nor failed
            else:
                passed += 1
    return passed, failed


total_passed = total_failed = 0
for target in targets:
    st = status.get(target)
    if st is None and bazel_rc == 0:
        st = "PASSED"  # a terse summary lists only tests that did not pass
    if st in ("PASSED", "FLAKY"):
        p, f = count_cases(xml_files(target))
        if p == 0 and f == 0:
            p = 1  # a passing test without test cases in XML (e.g. sh_test)
    elif st in ("FAILED", "TIMEOUT"):
        p, f = count_cases(xml_files(target))
        f = max(f, 1)
    else:  # did not run: FAILED TO BUILD, NO STATUS, INCOMPLETE, ...
        p, f = 0, 1
        print(f"{label}{target}: {st or 'not run'}", file=sys.stderr)
    total_passed += p
    total_failed += f

print(f"{total_passed} passed, {total_failed} failed")
sys.exit(0 if bazel_rc == 0 and total_failed == 0 and total_passed > 0 else 1)
