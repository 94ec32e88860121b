#!/usr/bin/env bash
# Installs everything egressd needs to build, test and run, from Debian 12's own archive.
# Idempotent: packages already present are skipped by apt. Run as root.
set -euo pipefail

packages=(
  # toolchain: clang-19 compiles both the BPF objects and the C++23 userspace (docs/toolchain.md)
  clang-19 lld-19 llvm-19 libclang-rt-19-dev clang-format-19 clang-tidy-19
  cmake ninja-build pkg-config make g++
  # kernel side
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  # userspace libraries
  libmnl-dev libtbb-dev libconcurrentqueue-dev prometheus-cpp-dev
  libyaml-cpp-dev libsimdjson-dev libspdlog-dev libfmt-dev
  # Kubernetes API client: HTTPS via libcurl (OpenSSL); OpenSSL also makes the fake API server's
  # test PKI; nlohmann-json is the sync benchmark's baseline and the fake's object builder
  libcurl4-openssl-dev libssl-dev nlohmann-json3-dev
  # tests and benchmarks; Boost 1.81's unordered_flat_map is reducer_bench's stronger baseline
  libgtest-dev libgmock-dev libbenchmark-dev libboost1.81-dev
  # integration tests: real conntrack, nftables, namespaces, a real Prometheus
  iproute2 nftables conntrack ethtool prometheus procps curl kmod
  # DNS tracer: dnsmasq answers the tests' queries; c-ares is the parser benchmark's baseline
  dnsmasq-base libc-ares-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The prometheus package starts a system service; the tests start their own instance.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  systemctl stop prometheus || true
  systemctl disable prometheus >/dev/null 2>&1 || true
fi
echo "install-deps: ok"
