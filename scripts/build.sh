#!/usr/bin/env bash
# Configures and builds egressd with clang-19 (docs/toolchain.md), warnings as errors (the
# developer and CI build; a plain `cmake -S . -B build` leaves them warnings).
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]     (default BUILD_DIR: build)
# Environment: TARGETS="egressd" builds only those targets; JOBS overrides the parallelism.
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=${1:-build}
shift || true
generator=()
command -v ninja >/dev/null 2>&1 && generator=(-G Ninja)

if [[ ! -f "$build_dir/CMakeCache.txt" ]]; then
  cmake -S . -B "$build_dir" "${generator[@]}" \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEGRESSD_WERROR=ON "$@"
fi
# shellcheck disable=SC2086
cmake --build "$build_dir" --parallel "${JOBS:-$(nproc)}" ${TARGETS:+--target $TARGETS}
