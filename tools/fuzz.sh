#!/usr/bin/env bash
# Fuzzes one target with libFuzzer for MINUTES minutes.
#
#   tools/fuzz.sh TARGET MINUTES     e.g. tools/fuzz.sh value_codec_json 10
#   tools/fuzz.sh --list             the targets
#   tools/fuzz.sh TARGET 0           build, then run the checked-in corpus once
#
# Builds TARGET's *_fuzz.cc outside Bazel with Debian's clang++-14
# (-fsanitize=fuzzer,address,undefined, UBSan reports fatal) against the
# system libraries, into $FUZZ_OUT (default /tmp/cache_alchemy_fuzz), and
# runs it at nice 10 with the project's limits: -rss_limit_mb=512 (a huge
# allocation is a finding) and -timeout=5 (so is a hang). New inputs go to
# $FUZZ_OUT/TARGET/corpus (seeded from the checked-in corpus, which is read
# only); crashes to $FUZZ_OUT/TARGET/artifacts/. A crash found is fixed, then
# copied into the checked-in corpus as a seed (and becomes a unit test).
# The last lines printed are libFuzzer's final stats (executions, time).
# Needs clang-14 and libclang-rt-14-dev (setup.sh installs them).
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$(pwd)"

# Debian's Abseil, as shared libraries (link order does not matter).
absl="$(pkg-config --libs absl_statusor absl_strings absl_str_format \
  absl_synchronization absl_time absl_hash absl_raw_hash_set)"

# TARGET -> "source [more sources...] | libraries"
describe() {
  case "$1" in
    value_codec_json) echo "core/value_codec_json_fuzz.cc |" ;;
    value_codec_binary) echo "core/value_codec_binary_fuzz.cc |" ;;
    strict_key) echo "core/strict_key_fuzz.cc |" ;;
    plugin_elf)
      echo "core/plugin_elf_fuzz.cc core/plugin_elf.cc | $absl" ;;
    push_invalidation)
      echo "backends/memory/push_invalidation_fuzz.cc backends/memory/push_invalidation.cc backends/memory/memory_cache.cc | $absl" ;;
    config_file)
      echo "config/config_file_fuzz.cc config/base_config.cc config/config_value.cc config/default_config.cc config/internal/typecast.cc config/redact.cc | $absl" ;;
    redis_url)
      echo "core/redis/redis_url_fuzz.cc core/redis/hiredis_client.cc core/redis/hiredis_subscription.cc config/redact.cc | $absl -lhiredis" ;;
    memcached_replies)
      echo "plugins/memcached/memcached_replies_fuzz.cc plugins/memcached/scripted_memcached_server.cc plugins/memcached/memcached_cache.cc plugins/memcached/memcached_client.cc | $absl -lmemcached -lmemcachedutil -lpthread" ;;
    *) return 1 ;;
  esac
}

# The checked-in corpus of a target: next to its source.
corpus_of() {
  local source="${1%% *}"
  echo "${source%.cc}_corpus"
}

targets="value_codec_json value_codec_binary strict_key plugin_elf push_invalidation config_file redis_url memcached_replies"

if [ "${1:-}" = "--list" ] || [ $# -ne 2 ]; then
  echo "usage: tools/fuzz.sh TARGET MINUTES   (MINUTES 0: run the corpus once)"
  echo "targets: $targets"
  [ "${1:-}" = "--list" ] && exit 0 || exit 2
fi
target="$1"
minutes="$2"
spec="$(describe "$target")" || { echo "unknown target '$target'; targets: $targets" >&2; exit 2; }
sources="${spec%%|*}"
libs="${spec#*|}"
corpus="$repo/$(corpus_of "$sources")"

out="${FUZZ_OUT:-/tmp/cache_alchemy_fuzz}/$target"
mkdir -p "$out/corpus" "$out/artifacts"
binary="$out/$target"
echo "fuzz.sh: building $binary" >&2
# shellcheck disable=SC2086  # word splitting of the lists is intended
clang++-14 -std=c++20 -g -O1 -fno-omit-frame-pointer \
  -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
  -fsanitize-ignorelist="$repo/tools/fuzz_ubsan_ignorelist.txt" \
  -I"$repo" $sources -o "$binary" $libs -ldl

run=(nice -n 10 "$binary" -rss_limit_mb=512 -timeout=5 -print_final_stats=1
     -artifact_prefix="$out/artifacts/")
if [ "$minutes" = "0" ]; then
  exec "${run[@]}" -runs=0 "$corpus"
fi
exec "${run[@]}" -max_total_time=$((minutes * 60)) "$out/corpus" "$corpus"
