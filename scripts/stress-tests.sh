#!/usr/bin/env bash
# Runs the test tiers again and again to find tests that depend on timing or luck (docs/testing.md,
# "Stress runs"): the unit, bpf and integration tiers RUNS times in a row, then the ASan and TSan
# jobs SAN_RUNS times each, optionally with every core kept busy by stress-ng meanwhile. Every run
# is logged; the summary counts passes and failures per tier and names the failed tests. Exits 1
# if any run failed. Needs a built tree (scripts/build.sh BUILD_DIR) and root.
#   sudo scripts/stress-tests.sh [--runs N] [--sanitizer-runs N] [--busy] [BUILD_DIR]
#     --runs N            repetitions of the unit+bpf+integration tiers (default 10)
#     --sanitizer-runs N  repetitions of each sanitizer job, asan and tsan (default 3; 0: none)
#     --busy              stress-ng --cpu $(nproc) runs for the whole time (installed if missing)
set -euo pipefail
cd "$(dirname "$0")/.."

runs=10
san_runs=3
busy=0
build_dir=build
while (($#)); do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --sanitizer-runs) san_runs=$2; shift 2 ;;
    --busy) busy=1; shift ;;
    -h | --help) sed -n '2,10p' "$0"; exit 0 ;;
    -*) echo "scripts/stress-tests.sh: unknown option $1" >&2; exit 2 ;;
    *) build_dir=$1; shift ;;
  esac
done
if [[ $(id -u) -ne 0 ]]; then
  echo "scripts/stress-tests.sh: run as root (BPF, namespaces, conntrack)" >&2
  exit 1
fi
if [[ ! -f $build_dir/CTestTestfile.cmake ]]; then
  echo "scripts/stress-tests.sh: $build_dir is not a build tree (run scripts/build.sh $build_dir)" >&2
  exit 1
fi

logs=$build_dir/stress-$(date +%Y%m%d-%H%M%S)
mkdir -p "$logs"
busy_pid=
if ((busy)); then
  if ! command -v stress-ng >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends stress-ng >/dev/null
  fi
  stress-ng --cpu "$(nproc)" --quiet >/dev/null 2>&1 &
  busy_pid=$!
fi
cleanup() { [[ -n $busy_pid ]] && kill "$busy_pid" 2>/dev/null; true; }
trap cleanup EXIT

declare -A passed failed
failures=()
# run_one NAME LOG COMMAND...: runs it, records the outcome and the failed tests' names.
run_one() {
  local name=$1 log=$2
  shift 2
  local start=$SECONDS
  if "$@" >"$log" 2>&1; then
    passed[$name]=$((${passed[$name]:-0} + 1))
    echo "  $name: pass ($((SECONDS - start)) s)"
  else
    failed[$name]=$((${failed[$name]:-0} + 1))
    local which
    which=$(sed -n 's/^ *[0-9]* - \(.*\) (.*)$/\1/p' "$log" | tr '\n' ' ')
    failures+=("$name ($log): ${which:-see log}")
    echo "  $name: FAIL ($((SECONDS - start)) s): ${which:-see $log}"
  fi
}

echo "stress: $runs runs of unit+bpf+integration, $san_runs of each sanitizer job" \
  "$( ((busy)) && echo "with stress-ng on every core" || echo "on an idle machine")"
echo "stress: logs in $logs"
for ((i = 1; i <= runs; i++)); do
  echo "run $i/$runs"
  for tier in unit bpf integration; do
    run_one "$tier" "$logs/$tier-$i.log" \
      ctest --test-dir "$build_dir" -L "^${tier}\$" --output-on-failure --no-tests=error
  done
done
for kind in asan tsan; do
  ((san_runs > 0)) || break
  echo "sanitizer $kind: build"
  scripts/sanitize.sh "$kind" "$build_dir" build >"$logs/$kind-build.log" 2>&1
  for ((i = 1; i <= san_runs; i++)); do
    echo "sanitizer $kind, run $i/$san_runs"
    run_one "$kind" "$logs/$kind-$i.log" scripts/sanitize.sh "$kind" "$build_dir" test
  done
done

echo
echo "stress summary ($( ((busy)) && echo busy || echo idle)):"
for name in unit bpf integration asan tsan; do
  p=${passed[$name]:-0}
  f=${failed[$name]:-0}
  ((p + f > 0)) && echo "  $name: $p passed, $f failed"
done
if ((${#failures[@]})); then
  printf '  failed: %s\n' "${failures[@]}"
  exit 1
fi
echo "  no failure"
