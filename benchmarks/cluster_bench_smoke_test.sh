#!/usr/bin/env bash
# Runs cluster_bench ($1) once with a tiny measuring time: it starts its
# servers, every benchmark runs without error, the json hits stay hits, and
# a json hit on the cluster costs exactly one round trip.
# A run normally takes 3 s; one that is still running after 150 s is a
# hang: its output so far and (with gdb) every thread's stack are printed
# before it is killed, so that the test log shows where it stopped.
set -uo pipefail
log="${TEST_TMPDIR:-/tmp}/cluster_bench.out"
# The plugins are in this test's runfiles (data of //:cache_alchemy), which
# cluster_bench does not search on its own: RUNFILES_DIR and TEST_SRCDIR
# name this test's runfiles, not cluster_bench's, and a program honours only
# its own (docs/plugins.md, section 7). Its own <exe>.runfiles exists only
# when Bazel happened to build it first.
plugin_path=""
for dir in "${TEST_SRCDIR:?}/${TEST_WORKSPACE:-cache_alchemy}"/backends/*/; do
  plugin_path="${plugin_path:+$plugin_path:}${dir%/}"
done
export CACHE_ALCHEMY_PLUGIN_PATH="$plugin_path"
"$1" --benchmark_min_time=0.01 >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 1500); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
  echo "FAIL: cluster_bench still running after 150 s; its output so far:"
  cat "$log"
  if command -v gdb >/dev/null; then
    gdb -batch -p "$pid" -ex "thread apply all bt" 2>&1 | tail -n 300
  fi
  kill -9 "$pid"
  exit 1
fi
wait "$pid"
status=$?
out="$(cat "$log")"
echo "$out"
if [ "$status" -ne 0 ]; then echo "FAIL: cluster_bench exited with $status"; exit 1; fi
if grep -q "ERROR OCCURRED" <<<"$out"; then echo "FAIL: a benchmark reported an error"; exit 1; fi
for name in BM_RawGetOnOwningMaster BM_ClusterClientGet BM_ClusterJsonHit BM_SingleJsonHit BM_RawGetsOnClusterMasters BM_RawGetsOnSingle BM_ClusterJsonHits BM_SingleJsonHits; do
  grep -q "^$name" <<<"$out" || { echo "FAIL: $name did not run"; exit 1; }
done
grep -E "^BM_ClusterJsonHit/" <<<"$out" | grep -q "round_trips_per_call=1$" \
  || { echo "FAIL: a cluster json hit is not one round trip"; exit 1; }
grep -q "cluster 1024, single 1024" <<<"$out" \
  || { echo "FAIL: hits turned into misses"; exit 1; }
echo PASS
