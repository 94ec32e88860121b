# Sourced by the scripts that build and run egressd's image (build-image.sh, the package tests):
# buildah and podman keep all their state under one scratch directory and use settings that work
# on a CI machine without a Docker engine or a registry (docs/deployment.md). Not executable.
#   EGRESSD_CONTAINERS_DIR  the state directory (default /var/tmp/egressd-containers)
containers_dir=${EGRESSD_CONTAINERS_DIR:-/var/tmp/egressd-containers}
mkdir -p "$containers_dir/storage" "$containers_dir/run"
cat >"$containers_dir/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$containers_dir/storage"
runroot = "$containers_dir/run"
CONF
# runc (crun refuses hybrid cgroup hosts); ulimits no higher than this shell's hard limits, else
# "setrlimit RLIMIT_NOFILE: Operation not permitted"; no registry is ever asked.
cat >"$containers_dir/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=$(($(ulimit -Hu) < 32768 ? $(ulimit -Hu) : 32768)):$(($(ulimit -Hu) < 32768 ? $(ulimit -Hu) : 32768))"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
CONF
printf 'unqualified-search-registries = []\n' >"$containers_dir/registries.conf"
export CONTAINERS_STORAGE_CONF=$containers_dir/storage.conf
export CONTAINERS_CONF=$containers_dir/containers.conf
export CONTAINERS_REGISTRIES_CONF=$containers_dir/registries.conf
