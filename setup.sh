#!/usr/bin/env bash
# setup.sh: installs everything cache_alchemy needs on a fresh Debian 12 machine.
# Safe to run twice. Must run as root (or through sudo).
set -euo pipefail

PACKAGES=(
  # Build: Bazel 4.2.3 from Debian, plus the platforms repository it does not pull in.
  bazel-bootstrap bazel-platforms
  g++ pkg-config clang-format
  # The CMake build and its checks in .ci/downstream.sh (CMake 3.23 or later).
  cmake
  # Fuzzing (tools/fuzz.sh): clang's libFuzzer and sanitizer runtimes.
  clang-14 libclang-rt-14-dev
  # Libraries, all from Debian's -dev packages (nothing is downloaded at build time).
  libabsl-dev
  libboost-dev libboost-filesystem-dev
  libhiredis-dev
  libcereal-dev
  nlohmann-json3-dev
  libgtest-dev libgmock-dev googletest
  libbenchmark-dev
  libmemcached-dev
  liburcu-dev
  # Servers the tests start on loopback ports themselves (redis-tools has
  # redis-cli, which joins the test clusters; redis-sentinel the sentinels).
  redis-server redis-tools redis-sentinel memcached
)

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh needs root to install packages with apt-get. Run:" >&2
  echo "  sudo $0" >&2
  exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup.sh: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update
  apt-get install -y --no-install-recommends "${missing[@]}"
else
  echo "setup.sh: all packages already installed"
fi

# The tests start their own redis-server/memcached on free loopback ports; the
# distribution's services are not needed (and are left as the machine has them).
if [ ! -d /usr/share/bazel/tools/platforms ]; then
  echo "setup.sh: /usr/share/bazel/tools/platforms is missing after installing bazel-platforms" >&2
  exit 1
fi
echo "setup.sh: done"
