# egressd's container image (docs/deployment.md). Two stages on Debian 12 (bookworm):
#   build    installs the build dependencies with the project's own script and builds the agent
#            with it (clang-19, Release, only the `egressd` target: no tests, benchmarks or fuzzers)
#   runtime  `scratch` holding only the binary, the shared libraries it loads, the CA bundle and
#            passwd/group entries (scripts/image-rootfs.sh): no shell, no package manager, no tools
# Build without a registry (scripts/build-image.sh does this):
#   buildah bud --pull=never --build-arg VERSION=0.1.0 -t localhost/egressd:0.1.0 .
ARG DEBIAN_IMAGE=docker.io/library/debian:bookworm

FROM ${DEBIAN_IMAGE} AS build
WORKDIR /src
# Dependencies first: this layer is reused as long as the script does not change.
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN EGRESSD_DEPS=build scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY CMakeLists.txt ./
COPY cmake cmake
COPY include include
COPY bpf bpf
COPY userspace userspace
COPY scripts scripts
# Release (-O2, no debug info: the image carries no symbols to debug with anyway).
RUN TARGETS=egressd scripts/build.sh /build -DCMAKE_BUILD_TYPE=Release \
      -DEGRESSD_BUILD_TESTS=OFF -DEGRESSD_BUILD_BENCH=OFF -DEGRESSD_BUILD_FUZZ=OFF \
 && scripts/image-rootfs.sh /build/userspace/app/egressd /rootfs \
 && /rootfs/usr/bin/egressd --version

FROM scratch
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="egressd" \
      org.opencontainers.image.description="Per-node Kubernetes network traffic accounting (eBPF, conntrack, Cilium) as Prometheus metrics" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="Apache-2.0 AND (BSD-2-Clause OR GPL-2.0-only)" \
      org.opencontainers.image.base.name="scratch"
COPY --from=build /rootfs/ /
# Non-root by default; the chart runs the agent as root with a handful of capabilities, because
# Kubernetes gives a non-root process no ambient capabilities (docs/deployment.md, "Privileges").
USER 65532:65532
ENTRYPOINT ["/usr/bin/egressd"]
