#!/usr/bin/env bash
# The README's test command: installs what is missing (apt), builds, and runs every test tier —
# unit, BPF (real kernel), integration (namespaces, conntrack, nftables, Prometheus), fuzz and
# benchmark smoke runs — plus the format and lint checks and the ASan/UBSan and TSan jobs
# (build-asan/, build-tsan/). Run as root on Debian 12.
#   sudo scripts/test.sh [BUILD_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -ne 0 ]]; then
  echo "scripts/test.sh: run as root (BPF loading, network namespaces, conntrack)" >&2
  exit 1
fi
build_dir=${1:-build}
start=$(date +%s)

step() { printf '\n==> %s (+%ss)\n' "$*" "$(($(date +%s) - start))"; }

step "dependencies"
scripts/install-deps.sh

step "build"
scripts/build.sh "$build_dir"

sanitizers=${EGRESSD_SANITIZERS-asan tsan}

# CPU-bound work that needs the build but not the test tiers runs meanwhile, at the lowest CPU
# priority: the container image (needed first, by the package tier), the lint (clang-format,
# clang-tidy), the sanitizer builds and the GCC build. The integration tier
# spends most of its ~3 minutes waiting for read intervals, so this uses cores that would idle;
# at nice 19 it yields the CPU to the tests whenever they need it. Each part writes its log and
# exit code under $bg/, and the steps below wait for the part they need.
bg=$build_dir/background
rm -rf "$bg"
mkdir -p "$bg"
setsid nice -n 19 bash -c '
  run() { local name=$1; shift; "$@" >"'"$bg"'/$name.log" 2>&1; echo $? >"'"$bg"'/$name.rc"; }
  run image scripts/build-image.sh
  run lint scripts/lint.sh "'"$build_dir"'"
  for kind in '"$sanitizers"'; do run "build-$kind" scripts/sanitize.sh "$kind" "'"$build_dir"'" build; done
  run build-gcc scripts/check-gcc.sh "'"$build_dir"'"
' </dev/null &
bg_pid=$!
# Whatever ends this script (a failed tier, a signal) ends the background work too, and removes
# what the image build and the containers left (scripts/container-cleanup.sh).
trap 'kill -- -"$bg_pid" 2>/dev/null || true; scripts/container-cleanup.sh' EXIT

# Waits for background part $1 and shows its log (all of it on failure, else the last lines).
wait_part() {
  local name=$1 waited
  waited=$(date +%s)
  # The chain writes the exit code last, so a dead chain without it means the part never ran.
  until [[ -f $bg/$name.rc ]]; do
    if ! kill -0 "$bg_pid" 2>/dev/null; then
      [[ -f $bg/$name.rc ]] && break  # finished between the two checks
      echo "scripts/test.sh: background part $name never finished (see $bg/)" >&2
      return 1
    fi
    sleep 2
  done
  local rc
  rc=$(cat "$bg/$name.rc")
  echo "($name: waited $(($(date +%s) - waited)) s for it)"
  if [[ $rc != 0 ]]; then
    cat "$bg/$name.log"
    echo "scripts/test.sh: $name failed (exit $rc)" >&2
    return 1
  fi
  tail -n 5 "$bg/$name.log"
}

# Tiers in order of cost; each tier fails fast so the first broken layer is the one reported.
for label in unit bpf fuzz integration; do
  step "tests: $label"
  ctest --test-dir "$build_dir" -L "^${label}\$" --output-on-failure --no-tests=error
done

# The Dockerfile's image (built in the background above) and the Helm chart, for real
# (docs/deployment.md): the chart's checks, then the image run as the chart renders it.
step "tests: package"
scripts/check-chart.sh "$build_dir/tools"
wait_part image
ctest --test-dir "$build_dir" -L "^package\$" --output-on-failure --no-tests=error

step "tests: bench"
ctest --test-dir "$build_dir" -L "^bench\$" --output-on-failure --no-tests=error

step "format and lint"
wait_part lint

# The sanitizer jobs, last (the costliest): unit, BPF and integration tiers again under
# ASan+UBSan, then under TSan, each in its own build directory (scripts/sanitize.sh), built in the
# background above. EGRESSD_SANITIZERS="asan" (or "") narrows them for a local run; CI runs both.
for kind in $sanitizers; do
  step "sanitizers: $kind"
  wait_part "build-$kind"
  scripts/sanitize.sh "$kind" "$build_dir" test
done

step "GCC build"
wait_part build-gcc

step "all tests passed in $(($(date +%s) - start)) s"
