#!/usr/bin/env bash
# Runs cluster_bench ($1) once with a tiny measuring time: it starts its
# servers, every benchmark runs without error, the json hits stay hits, and
# a json hit on the cluster costs exactly one round trip.
set -uo pipefail
out="$("$1" --benchmark_min_time=0.01 2>&1)"
status=$?
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
