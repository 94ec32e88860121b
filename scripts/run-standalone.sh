#!/usr/bin/env bash
# The README's first command: installs what is missing, builds the agent, and runs it on this
# machine in standalone mode (no Kubernetes) with the netfilter conntrack source. Within seconds
# it prints real flow metrics from http://127.0.0.1:${PORT:-6061}/metrics and keeps running until
# Ctrl-C. Run as root.
#   sudo scripts/run-standalone.sh            EGRESSD_DEMO_SECONDS=20 stops by itself
set -euo pipefail
cd "$(dirname "$0")/.."
[[ $(id -u) -eq 0 ]] || { echo "run-standalone: run as root (conntrack over netlink)" >&2; exit 1; }

port=${PORT:-6061}
build_dir=${BUILD_DIR:-build}
scripts/install-deps.sh
TARGETS=egressd scripts/build.sh "$build_dir"
egressd=$build_dir/userspace/app/egressd

workdir=$(mktemp -d /tmp/egressd-standalone.XXXXXX)
agent_pid=""
cleanup() {
  [[ -n $agent_pid ]] && kill -TERM "$agent_pid" 2>/dev/null && wait "$agent_pid" 2>/dev/null
  nft delete table inet egressd_standalone 2>/dev/null || true
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# 1. Conntrack accounting on (what `egressd init` does in a Kubernetes init container).
"$egressd" init

# 2. The kernel tracks connections in a network namespace only once some rule needs conntrack.
#    On a Kubernetes node kube-proxy's rules do that; on this bare machine a one-rule nftables
#    table does, and it is removed when this script exits.
nft -f - <<'NFT'
table inet egressd_standalone {
  chain output { type filter hook output priority 0; policy accept; ct state new counter; }
}
NFT

# 3. A standalone inventory: this machine as the only node (kubectl's List format).
node=$(hostname)
addresses=$(ip -o addr show scope global | awk '{split($4, a, "/"); printf "%s{\"type\": \"InternalIP\", \"address\": \"%s\"}", (n++ ? ", " : ""), a[1]}')
addresses="[$addresses]"
cat >"$workdir/inventory.json" <<JSON
{"apiVersion": "v1", "kind": "List", "items": [
  {"apiVersion": "v1", "kind": "Node",
   "metadata": {"name": "$node", "labels": {"topology.kubernetes.io/zone": "standalone"}},
   "status": {"addresses": $addresses}}
]}
JSON

# 4. The agent, on loopback.
"$egressd" --inventory "$workdir/inventory.json" --node-name "$node" --read-interval 2s \
  --http-listen-address 127.0.0.1 --http-listen-port "$port" --exclude-namespaces "" &
agent_pid=$!

# 5. Some traffic of this machine's own (scrapes over loopback), then the flow metrics.
for _ in $(seq 1 20); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break; sleep 0.25; done
for _ in 1 2 3; do curl -fs "http://127.0.0.1:$port/metrics" >/dev/null; sleep 1; done
sleep 3
echo
echo "---- flow metrics at http://127.0.0.1:$port/metrics ----"
curl -fs "http://127.0.0.1:$port/metrics" | grep -E '^egressd_(transmit|received)_bytes_total' | head -20
echo "---- (the agent keeps running: curl http://127.0.0.1:$port/metrics; Ctrl-C stops it) ----"

if [[ -n ${EGRESSD_DEMO_SECONDS:-} ]]; then
  sleep "$EGRESSD_DEMO_SECONDS"
else
  wait "$agent_pid"
fi
