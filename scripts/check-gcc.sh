#!/usr/bin/env bash
# Builds with Debian 12's default compiler (g++ 12) and warnings as errors, as a packager's plain
# `cmake -S . -B build && cmake --build build` would with the system compiler (docs/toolchain.md):
# the project is developed with clang-19, and this keeps it building with GCC. CI builds the agent
# and every library it links (what a packager ships; a third of the full build's time, which
# keeps CI under 30 minutes); EGRESSD_GCC_ALL=1 builds every target, tests included.
#   scripts/check-gcc.sh [MAIN_BUILD_DIR]     (builds in MAIN_BUILD_DIR-gcc)
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}-gcc
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)
if [[ ! -f $dir/CMakeCache.txt ]]; then
  CC=gcc CXX=g++ cmake -S . -B "$dir" "${generator[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DEGRESSD_WERROR=ON >/dev/null
fi
if [[ ${EGRESSD_GCC_ALL:-0} == 1 ]]; then
  cmake --build "$dir" --parallel "${JOBS:-$(nproc)}"
  echo "check-gcc: every target builds with $(g++ --version | head -1), warnings as errors"
else
  cmake --build "$dir" --parallel "${JOBS:-$(nproc)}" --target egressd
  echo "check-gcc: the agent builds with $(g++ --version | head -1), warnings as errors"
fi
