#!/usr/bin/python3
"""Turns one container of the chart's rendered DaemonSet (helm template output on stdin) into the
`podman run` options that give a container the same user, capabilities, seccomp, read-only root,
no_new_privs and host mounts, and the same arguments — so the package tests run the image exactly
as the chart would, not privileged. Prints JSON: {"podman": [...], "args": [...]}.
    podman_args.py CONTAINER_NAME < rendered.yaml"""
import json
import sys

import yaml


def main():
    want = sys.argv[1]
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    containers = pod.get("initContainers", []) + pod["containers"]
    c = next(x for x in containers if x["name"] == want)
    assert pod.get("hostNetwork") is True, "the agent shares the node's network namespace"
    sc = c["securityContext"]
    if sc.get("privileged"):
        sys.exit("podman_args: the chart asks for a privileged container")
    out = ["--user", f'{sc["runAsUser"]}:{sc.get("runAsGroup", sc["runAsUser"])}']
    caps = sc.get("capabilities", {})
    for cap in caps.get("drop", []):
        out += ["--cap-drop", cap.lower()]
    for cap in caps.get("add", []):
        out += ["--cap-add", cap.lower()]
    if sc.get("readOnlyRootFilesystem"):
        out.append("--read-only")
    if sc.get("allowPrivilegeEscalation") is False:
        out += ["--security-opt", "no-new-privileges"]
    seccomp = sc.get("seccompProfile", {}).get("type")
    if seccomp not in ("RuntimeDefault", None):
        sys.exit(f"podman_args: seccomp profile {seccomp} is not podman's default")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "hostPath" not in v:
            continue  # ConfigMaps: not part of these tests
        opts = ["ro" if m.get("readOnly") else "rw"]
        if m.get("mountPropagation") == "HostToContainer":
            opts.append("rslave")
        out += ["--volume", f'{v["hostPath"]["path"]}:{m["mountPath"]}:{",".join(opts)}']
    print(json.dumps({"podman": out, "args": c.get("args", [])}))


main()
