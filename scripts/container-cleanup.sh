#!/usr/bin/env bash
# Removes what building and running egressd's image left on the machine (scripts/test.sh runs it
# on exit): any container of ours, the image store under EGRESSD_CONTAINERS_DIR (unless
# EGRESSD_KEEP_IMAGES=1, for faster local rebuilds), and the state podman and runc write outside
# it (/var/lib/containers/cache, /run/runc, the cgroup v1 libpod_parent directories) when our
# first run found it absent (scripts/container-env.sh lists it).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1
# shellcheck source=scripts/container-env.sh
source scripts/container-env.sh
# What container-env.sh found absent before our first podman or buildah ran (read before the
# store, which holds the list, goes).
outside=()
[[ -f $containers_dir/outside-state.list ]] && mapfile -t outside <"$containers_dir/outside-state.list"
if command -v podman >/dev/null 2>&1; then
  podman rm --all --force >/dev/null 2>&1
  if [[ ${EGRESSD_KEEP_IMAGES:-0} != 1 ]]; then
    podman system reset --force >/dev/null 2>&1
    rm -rf "$containers_dir"
  fi
fi
command -v buildah >/dev/null 2>&1 && buildah rm --all >/dev/null 2>&1
[[ ${EGRESSD_KEEP_IMAGES:-0} == 1 ]] && exit 0
for path in "${outside[@]}"; do
  case $path in
    /sys/fs/cgroup/*) [[ -d $path ]] && find "$path" -depth -type d -exec rmdir {} + 2>/dev/null ;;
    # runc's and podman's run state: empty directories only (a container still running keeps
    # its own).
    /run/*) [[ -d $path ]] && find "$path" -depth -type d -empty -delete 2>/dev/null ;;
    *) rm -rf "$path" ;;
  esac
done
exit 0
