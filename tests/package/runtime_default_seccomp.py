#!/usr/bin/python3
"""Writes the seccomp profile Kubernetes applies as `RuntimeDefault` on containerd (>= 1.6) and
Docker (>= 20.10): podman's default profile (containers-common's seccomp.json) plus the two rules
those runtimes have and containers-common 0.50 (Debian 12's) lacks: bpf() for a container with
CAP_BPF and perf_event_open() for one with CAP_PERFMON (Linux 5.8's split of CAP_SYS_ADMIN). With
podman's own default the agent would need CAP_SYS_ADMIN for bpf() (docs/deployment.md).
    runtime_default_seccomp.py OUT.json"""
import json
import sys

profile = json.load(open("/usr/share/containers/seccomp.json"))
# containers-common answers bpf() and perf_event_open() without CAP_SYS_ADMIN with an explicit
# EPERM rule, which would also match (and win over) the ALLOW rules below: those two leave it...
for rule in profile["syscalls"]:
    if rule["action"] == "SCMP_ACT_ERRNO" and "excludes" in rule:
        rule["names"] = [n for n in rule["names"] if n not in ("bpf", "perf_event_open")]
profile["syscalls"] = [r for r in profile["syscalls"] if r["names"]]
# ...and get the rules containerd and Docker have: allowed with CAP_BPF / CAP_PERFMON (or
# CAP_SYS_ADMIN, still allowed by the rule above), else EPERM. Without the EPERM rule the
# profile's default action would answer, and containers-common's is ENOSYS where containerd's
# and Docker's is EPERM: a container lacking the capability would see another error than on a
# cluster. (containers-common skips an `excludes` rule when any one of its capabilities is held.)
for name, cap in (("bpf", "CAP_BPF"), ("perf_event_open", "CAP_PERFMON")):
    profile["syscalls"] += [
        {"names": [name], "action": "SCMP_ACT_ALLOW", "includes": {"caps": [cap]}},
        {"names": [name], "action": "SCMP_ACT_ERRNO", "errnoRet": 1,
         "excludes": {"caps": [cap, "CAP_SYS_ADMIN"]}},
    ]
json.dump(profile, open(sys.argv[1], "w"), indent=1)
