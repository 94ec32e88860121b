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

step "format and lint"
scripts/lint.sh "$build_dir"

# Tiers in order of cost; each tier fails fast so the first broken layer is the one reported.
for label in unit bpf fuzz integration bench; do
  step "tests: $label"
  ctest --test-dir "$build_dir" -L "^${label}\$" --output-on-failure --no-tests=error
done

# The sanitizer jobs, last (the costliest): unit, BPF and integration tiers again under
# ASan+UBSan, then under TSan, each in its own build directory (scripts/sanitize.sh).
# EGRESSD_SANITIZERS="asan" (or "") narrows them for a local run; CI runs both.
for kind in ${EGRESSD_SANITIZERS-asan tsan}; do
  step "sanitizers: $kind"
  scripts/sanitize.sh "$kind" "$build_dir"
done

step "all tests passed in $(($(date +%s) - start)) s"
