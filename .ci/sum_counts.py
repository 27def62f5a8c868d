#!/usr/bin/env python3
"""Sums "N passed, N failed" lines; prints the total as one such line.

Usage: python3 .ci/sum_counts.py "<line>" ["<line>" ...]   (from .ci/run and
.ci/sanitizers.sh). An argument that is not such a line (a run that did not
even report its counts) counts as one failure. Exit status 0 only when
nothing failed and something passed.
"""
import re
import sys

passed = failed = 0
for line in sys.argv[1:]:
    m = re.fullmatch(r"(\d+) passed, (\d+) failed", line.strip())
    if m is None:
        failed += 1
        continue
    passed += int(m.group(1))
    failed += int(m.group(2))
print(f"{passed} passed, {failed} failed")
sys.exit(0 if failed == 0 and passed > 0 else 1)
