#!/usr/bin/env bash
# Removes what building and running egressd's image left on the machine (scripts/test.sh runs it
# on exit): any container of ours, the image store under EGRESSD_CONTAINERS_DIR (unless
# EGRESSD_KEEP_IMAGES=1, for faster local rebuilds), and the state root podman and runc write
# outside it (/var/lib/containers/cache, /run/runc, the cgroup v1 libpod_parent directories).
set -uo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/container-env.sh
source scripts/container-env.sh
if command -v podman >/dev/null 2>&1; then
  podman rm --all --force >/dev/null 2>&1
  if [[ ${EGRESSD_KEEP_IMAGES:-0} != 1 ]]; then
    podman system reset --force >/dev/null 2>&1
    rm -rf "$containers_dir"
  fi
fi
command -v buildah >/dev/null 2>&1 && buildah rm --all >/dev/null 2>&1
rm -rf /var/lib/containers/cache /var/cache/containers
# Empty state directories only (another container runtime's live state is never touched).
find /run/runc /run/containers -depth -type d -empty -delete 2>/dev/null
for d in /sys/fs/cgroup/*/libpod_parent /sys/fs/cgroup/libpod_parent; do
  [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
done
exit 0
