# shellcheck shell=bash
# Sourced by the scripts that build and run egressd's image (build-image.sh, the package tests):
# buildah and podman keep all their state under one scratch directory and use settings that work
# on a CI machine without a Docker engine or a registry (docs/deployment.md). Not executable.
#   EGRESSD_CONTAINERS_DIR  the state directory (default /var/tmp/egressd-containers)
containers_dir=${EGRESSD_CONTAINERS_DIR:-/var/tmp/egressd-containers}
mkdir -p "$containers_dir/storage" "$containers_dir/run"
# State podman and runc keep outside that directory whatever their configuration says. Those
# absent when this machine first sourced this file are listed, and scripts/container-cleanup.sh
# removes only the listed ones: another user's podman state is never touched.
if [[ ! -e $containers_dir/outside-state.seen ]]; then
  egressd_outside=(/var/lib/containers/cache /var/cache/containers /run/runc /run/containers
    /sys/fs/cgroup/libpod_parent)
  for egressd_hierarchy in /sys/fs/cgroup/*/; do
    egressd_outside+=("${egressd_hierarchy}libpod_parent")
  done
  for egressd_path in "${egressd_outside[@]}"; do
    [[ -e $egressd_path ]] || echo "$egressd_path" >>"$containers_dir/outside-state.list"
  done
  touch "$containers_dir/outside-state.seen"
  unset egressd_outside egressd_hierarchy egressd_path
fi
# Each file is written whole and renamed into place: a podman of another script that sources this
# at the same time never reads a half-written one.
egressd_write_conf() {
  local tmp
  tmp=$(mktemp "$containers_dir/.$1.XXXXXX")
  cat >"$tmp"
  mv -f "$tmp" "$containers_dir/$1"
}
egressd_write_conf storage.conf <<CONF
[storage]
driver = "overlay"
graphroot = "$containers_dir/storage"
runroot = "$containers_dir/run"
CONF
# runc (crun refuses hybrid cgroup hosts); ulimits no higher than this shell's hard limits, else
# "setrlimit RLIMIT_NOFILE: Operation not permitted"; no registry is ever asked.
egressd_nofile=$(ulimit -Hn)
egressd_nproc=$(ulimit -Hu)
[[ $egressd_nofile == unlimited ]] && egressd_nofile=1048576
if [[ $egressd_nproc == unlimited ]] || ((egressd_nproc > 32768)); then
  egressd_nproc=32768
fi
egressd_write_conf containers.conf <<CONF
[containers]
default_ulimits = ["nofile=$egressd_nofile:$egressd_nofile", "nproc=$egressd_nproc:$egressd_nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
printf 'unqualified-search-registries = []\n' | egressd_write_conf registries.conf
unset -f egressd_write_conf
unset egressd_nofile egressd_nproc
export CONTAINERS_STORAGE_CONF=$containers_dir/storage.conf
export CONTAINERS_CONF=$containers_dir/containers.conf
export CONTAINERS_REGISTRIES_CONF=$containers_dir/registries.conf
