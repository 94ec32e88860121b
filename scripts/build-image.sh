#!/usr/bin/env bash
# Builds egressd's container image from the Dockerfile with buildah, without a Docker engine or a
# registry (docs/deployment.md): the Debian base comes from debootstrap (Debian's own mirror, the
# same packages as the official image), imported once as docker.io/library/debian:bookworm.
# Prints the image's name and size.
#   sudo scripts/build-image.sh [IMAGE]      (default localhost/egressd:<version>)
set -euo pipefail
cd "$(dirname "$0")/.."
version=$(sed -n 's/^project(egressd VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
image=${1:-localhost/egressd:$version}
# shellcheck source=scripts/container-env.sh
source scripts/container-env.sh

base=docker.io/library/debian:bookworm
if ! podman image exists "$base"; then
  # This machine's Debian mirror (deb822 sources, else the one-line format), else Debian's own.
  mirror=
  if [[ -f /etc/apt/sources.list.d/debian.sources ]]; then
    mirror=$(sed -n '/^URIs: /{s/^URIs: *\([^ ]*\).*/\1/p;q}' /etc/apt/sources.list.d/debian.sources)
  elif [[ -f /etc/apt/sources.list ]]; then
    mirror=$(awk '$1 == "deb" && $2 !~ /^\[/ { print $2; exit }' /etc/apt/sources.list)
  fi
  mirror=${mirror:-http://deb.debian.org/debian}
  rootfs=$containers_dir/debootstrap
  rm -rf "$rootfs"
  echo "build-image: debootstrap bookworm from $mirror"
  debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$containers_dir/debootstrap.log" 2>&1 ||
    { tail -20 "$containers_dir/debootstrap.log" >&2; exit 1; }
  tar -C "$rootfs" --numeric-owner -c . | podman import --change 'CMD ["bash"]' - "$base" >/dev/null
  rm -rf "$rootfs"
fi

revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
source_url=$(git remote get-url origin 2>/dev/null || echo "file://$PWD")
buildah bud --pull=never --layers --network host \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" \
  -t "$image" . >"$containers_dir/build.log" 2>&1 ||
  { tail -40 "$containers_dir/build.log" >&2; echo "build-image: buildah bud failed" >&2; exit 1; }
size=$(podman image inspect --format '{{.Size}}' "$image")
echo "build-image: $image, $((size / 1024 / 1024)) MiB ($size bytes)"
