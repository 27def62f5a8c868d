#!/usr/bin/env bash
# Builds and runs cache_alchemy the way other projects use it (README.md, "Use
# it from your project"), so those instructions cannot rot:
#
#   bazel_downstream_test   examples/downstream, a workspace of its own that
#                           depends on this one through cache_alchemy_dependencies():
#                           `bazel test //...` there (its service runs as an sh_test);
#   bazel_downstream_binary the same service binary run directly, from another
#                           directory and without runfiles variables (plugins
#                           found in <exe>.runfiles);
#   cmake_install           configure, build and install this repository with
#                           CMake into a temporary prefix;
#   cmake_consumer          examples/cmake_consumer built against the installed
#                           package (find_package) and run: plugins found in the
#                           installed plugin directory, no variable set;
#   pkgconfig_consumer      the same program built with g++ and
#                           `pkg-config cache_alchemy`, plugins found through
#                           CACHE_ALCHEMY_PLUGIN_PATH=$(pkg-config --variable=plugindir).
#
# Usage: .ci/downstream.sh [RESULTS]. Appends "PASS <check>" or "FAIL <check>"
# per check to RESULTS (for .ci/run's count), then "END". Exits non-zero if a
# check failed. Logs of a failing check are printed. Uses 2 parallel jobs.
set -uo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
results="${1:-/dev/null}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0

# check NAME COMMAND...: runs the command with its output in a log, records the
# result. The check functions below run in subshells (their bodies are in
# parentheses), so their cd and export stay theirs.
check() {
  local name="$1" start=$SECONDS
  shift
  if "$@" >"$tmp/$name.log" 2>&1; then
    echo "downstream: PASS $name ($((SECONDS - start)) s)"
    echo "PASS $name" >>"$results"
  else
    echo "downstream: FAIL $name ($((SECONDS - start)) s); last lines of its log:"
    tail -n 40 "$tmp/$name.log" | sed 's/^/    /'
    echo "FAIL $name" >>"$results"
    failed=1
  fi
}

bazel_downstream_test() (
  cd "$root/examples/downstream" && bazel test //...
)

bazel_downstream_binary() (
  local bin
  bin="$(cd "$root/examples/downstream" && bazel info bazel-bin)/service" &&
    cd "$tmp" && env -u RUNFILES_DIR -u TEST_SRCDIR -u RUNFILES_MANIFEST_FILE "$bin"
)

cmake_install() (
  cmake -S "$root" -B "$tmp/build" -DCMAKE_INSTALL_PREFIX="$tmp/prefix" &&
    cmake --build "$tmp/build" -j2 &&
    cmake --install "$tmp/build"
)

cmake_consumer() (
  [ -d "$tmp/prefix" ] || { echo "nothing installed (cmake_install failed)"; return 1; }
  cmake -S "$root/examples/cmake_consumer" -B "$tmp/consumer" \
    -DCMAKE_PREFIX_PATH="$tmp/prefix" &&
    cmake --build "$tmp/consumer" -j2 &&
    env -u CACHE_ALCHEMY_PLUGIN_PATH "$tmp/consumer/consumer"
)

pkgconfig_consumer() (
  [ -d "$tmp/prefix" ] || { echo "nothing installed (cmake_install failed)"; return 1; }
  local pc_dir
  pc_dir="$(dirname "$(find "$tmp/prefix" -name cache_alchemy.pc | head -n 1)")"
  export PKG_CONFIG_PATH="$pc_dir"
  local version plugindir
  version="$(pkg-config --modversion cache_alchemy)" &&
    plugindir="$(pkg-config --variable=plugindir cache_alchemy)" &&
    g++ -std=c++20 -DPACKAGE_VERSION="\"$version\"" \
      "$root/examples/cmake_consumer/main.cc" -o "$tmp/pc_consumer" \
      $(pkg-config --cflags --libs cache_alchemy) &&
    CACHE_ALCHEMY_PLUGIN_PATH="$plugindir" "$tmp/pc_consumer"
)

check bazel_downstream_test bazel_downstream_test
check bazel_downstream_binary bazel_downstream_binary
# A second Bazel server is not needed once the downstream checks ran.
(cd "$root/examples/downstream" && bazel shutdown) >/dev/null 2>&1
check cmake_install cmake_install
check cmake_consumer cmake_consumer
check pkgconfig_consumer pkgconfig_consumer

echo "END" >>"$results"
exit "$failed"
