#!/usr/bin/env bash
# Lays out the container image's whole file system in OUT_DIR: the egressd binary, the shared
# libraries it loads (as ldd resolves them, dynamic loader included), the CA bundle (for a
# kubeconfig that names no CA), and passwd/group entries for root and the non-root user 65532.
# Nothing else: no shell, no package manager, no tools (the Dockerfile's last stage is `scratch`).
#   scripts/image-rootfs.sh BINARY OUT_DIR
set -euo pipefail
bin=$1
out=$2
rm -rf "$out"
mkdir -p "$out/usr/bin" "$out/etc/ssl/certs" "$out/tmp"
chmod 1777 "$out/tmp"
install -m 0755 "$bin" "$out/usr/bin/egressd"
# "libfoo.so.1 => /lib/x86_64-linux-gnu/libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (...)"
mapfile -t libs < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')
((${#libs[@]} > 0)) || { echo "image-rootfs: ldd found no libraries for $bin" >&2; exit 1; }
for lib in "${libs[@]}"; do
  # The path the loader asks for, with the file's content (symlinks followed).
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
cp -L /etc/ssl/certs/ca-certificates.crt "$out/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/:/nonexistent\negressd:x:65532:65532:egressd:/:/nonexistent\n' \
  >"$out/etc/passwd"
printf 'root:x:0:\negressd:x:65532:\n' >"$out/etc/group"
echo "image-rootfs: egressd and ${#libs[@]} libraries in $out ($(du -sh "$out" | cut -f1))"
