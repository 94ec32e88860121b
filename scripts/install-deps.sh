#!/usr/bin/env bash
# Installs everything egressd needs to build, test and run, from Debian 12's own archive.
# Idempotent: packages already present are skipped by apt. Run as root.
#   scripts/install-deps.sh            everything (build, tests, benchmarks, lint, images, chart)
#   EGRESSD_DEPS=build scripts/install-deps.sh
#                                      only what building the agent needs (the image's build stage)
set -euo pipefail

build_packages=(
  # toolchain: clang-19 compiles both the BPF objects and the C++23 userspace (docs/toolchain.md)
  clang-19 lld-19 llvm-19 cmake ninja-build pkg-config make
  # kernel side
  libbpf-dev bpftool libelf-dev zlib1g-dev linux-libc-dev
  # userspace libraries
  libmnl-dev libtbb-dev libconcurrentqueue-dev prometheus-cpp-dev
  libyaml-cpp-dev libsimdjson-dev libspdlog-dev libfmt-dev
  # Kubernetes API client: HTTPS via libcurl (OpenSSL); the CA bundle for kubeconfigs without one
  libcurl4-openssl-dev libssl-dev ca-certificates
)
dev_packages=(
  libclang-rt-19-dev clang-format-19 clang-tidy-19 g++
  # OpenSSL also makes the fake API server's test PKI; nlohmann-json is the sync benchmark's
  # baseline and the fake's object builder
  nlohmann-json3-dev
  # tests and benchmarks; Boost 1.81's unordered_flat_map is reducer_bench's stronger baseline
  libgtest-dev libgmock-dev libbenchmark-dev libboost1.81-dev
  # integration tests: real conntrack, nftables, namespaces, a real Prometheus
  iproute2 nftables conntrack ethtool prometheus procps curl kmod util-linux
  # DNS tracer: dnsmasq answers the tests' queries; c-ares is the parser benchmark's baseline
  dnsmasq-base libc-ares-dev
  # the container image (Dockerfile) and the Helm chart (helm/): built and checked for real
  # (docs/deployment.md); npm (with the machine's Node.js) fetches the helm binary and schemas
  buildah podman runc debootstrap yamllint unzip python3-kubernetes
)

packages=("${build_packages[@]}")
[[ ${EGRESSD_DEPS:-all} == build ]] || packages+=("${dev_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node.js and npm for scripts/check-chart.sh: any install will do (a machine may have NodeSource's
# nodejs, which ships npm and conflicts with Debian's npm package), Debian's when there is none.
if [[ ${EGRESSD_DEPS:-all} != build ]] && ! { command -v node && command -v npm; } >/dev/null; then
  missing+=(nodejs npm)
fi
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
