#!/usr/bin/python3
"""Turns one container of the chart's rendered DaemonSet (helm template output on stdin) into the
`podman run` options that give a container the same user, capabilities, seccomp, read-only root,
no_new_privs and host mounts, and the same arguments — so the package tests run the image exactly
as the chart would, not privileged. Prints JSON: {"podman": [...], "args": [...]}.
    podman_args.py CONTAINER_NAME < rendered.yaml"""
import json
import sys

import yaml


# What a container's securityContext may hold here, each emulated below; anything else (SELinux,
# AppArmor, procMount, ...) stops the script rather than being silently dropped.
CONTAINER_KEYS = {"runAsUser", "runAsGroup", "runAsNonRoot", "privileged",
                  "allowPrivilegeEscalation", "readOnlyRootFilesystem", "capabilities",
                  "seccompProfile"}
# Pod-level settings that apply to each container unless it sets its own.
POD_KEYS = {"runAsUser", "runAsGroup", "runAsNonRoot", "seccompProfile"}


def fail(msg):
    sys.exit(f"podman_args: {msg}")


def main():
    want = sys.argv[1]
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    ds = next(d for d in docs if d["kind"] == "DaemonSet")
    pod = ds["spec"]["template"]["spec"]
    containers = pod.get("initContainers", []) + pod["containers"]
    c = next(x for x in containers if x["name"] == want)
    assert pod.get("hostNetwork") is True, "the agent shares the node's network namespace"
    pod_sc = pod.get("securityContext") or {}
    if set(pod_sc) - POD_KEYS:
        fail(f"pod securityContext fields not emulated: {sorted(set(pod_sc) - POD_KEYS)}")
    sc = {**pod_sc, **(c.get("securityContext") or {})}
    if set(sc) - CONTAINER_KEYS:
        fail(f"securityContext fields not emulated: {sorted(set(sc) - CONTAINER_KEYS)}")
    if sc.get("privileged"):
        fail("the chart asks for a privileged container")
    if "runAsUser" not in sc:
        fail("no runAsUser: the image's user would decide")
    if sc.get("runAsNonRoot") and sc["runAsUser"] == 0:
        fail("runAsNonRoot with runAsUser 0: the kubelet would refuse to start it")
    out = ["--user", f'{sc["runAsUser"]}:{sc.get("runAsGroup", sc["runAsUser"])}']
    caps = sc.get("capabilities", {})
    for cap in caps.get("drop", []):
        out += ["--cap-drop", cap.lower()]
    for cap in caps.get("add", []):
        out += ["--cap-add", cap.lower()]
    if sc.get("readOnlyRootFilesystem"):
        # Kubernetes mounts nothing writable over a read-only root; podman's --read-only would
        # add tmpfs at /tmp, /run and /var/tmp unless told not to.
        out += ["--read-only", "--read-only-tmpfs=false"]
    if sc.get("allowPrivilegeEscalation") is False:
        out += ["--security-opt", "no-new-privileges"]
    seccomp = sc.get("seccompProfile", {}).get("type")
    if seccomp not in ("RuntimeDefault", None):
        fail(f"seccomp profile {seccomp} is not podman's default")
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for m in c.get("volumeMounts", []):
        v = volumes[m["name"]]
        if "hostPath" not in v:
            fail(f"volume {m['name']} is not a hostPath (the tests render no ConfigMap)")
        opts = ["ro" if m.get("readOnly") else "rw"]
        if m.get("mountPropagation") == "HostToContainer":
            opts.append("rslave")
        elif m.get("mountPropagation") not in (None, "None"):
            fail(f"mountPropagation {m['mountPropagation']} not emulated")
        out += ["--volume", f'{v["hostPath"]["path"]}:{m["mountPath"]}:{",".join(opts)}']
    print(json.dumps({"podman": out, "args": c.get("args", [])}))


main()
