#!/usr/bin/python3
"""Reads `helm template` output (stdin), checks every core object against Debian's
python3-kubernetes models for UNKNOWN fields and wrong JSON types (the npm schemas do not flag
unknown fields), and writes the objects as a JSON array to the file given as argv[1] for
validate_models.mjs. Prints one line per problem; exits 1 if any."""
import json
import sys

import kubernetes.client as k8s
import yaml

PRIMITIVES = {"str": str, "int": int, "bool": bool, "float": (int, float), "object": object,
              "datetime": str, "date": str}


def check(value, type_name, path, problems):
    if value is None:
        return
    if type_name.startswith("list["):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, type_name[5:-1], f"{path}[{i}]", problems)
        return
    if type_name.startswith("dict("):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected a map, got {type(value).__name__}")
            return
        inner = type_name[5:-1].split(", ", 1)[1]
        for k, v in value.items():
            check(v, inner, f"{path}.{k}", problems)
        return
    if type_name in PRIMITIVES:
        want = PRIMITIVES[type_name]
        if type_name == "int" and isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got a boolean")
        elif not isinstance(value, want):
            problems.append(f"{path}: expected {type_name}, got {type(value).__name__}")
        return
    model = getattr(k8s, type_name, None)
    if model is None:
        return  # int-or-string and friends: not checked here
    if not isinstance(value, dict):
        problems.append(f"{path}: expected an object ({type_name}), got {type(value).__name__}")
        return
    by_json = {json_name: attr for attr, json_name in model.attribute_map.items()}
    for key, v in value.items():
        if key not in by_json:
            problems.append(f"{path}.{key}: unknown field of {type_name}")
            continue
        check(v, model.openapi_types[by_json[key]], f"{path}.{key}", problems)


def main():
    docs = [d for d in yaml.safe_load_all(sys.stdin) if d]
    problems = []
    for d in docs:
        api = d.get("apiVersion", "")
        group_version = api.split("/")
        version = group_version[-1].capitalize()
        group = "".join(p.capitalize() for p in group_version[0].split(".")[0:1]) \
            if len(group_version) == 2 else ""
        # V1DaemonSet, V1ClusterRole (rbac.authorization.k8s.io: no prefix in the model name)...
        candidates = [f"{version}{d.get('kind', '')}"]
        if group and group not in ("Apps", "Rbac"):
            candidates.insert(0, f"{version}{group}{d.get('kind', '')}")
        model = next((c for c in candidates if hasattr(k8s, c)), None)
        name = f"{api}/{d.get('kind')} {d.get('metadata', {}).get('name')}"
        if model is None:
            if api.startswith("monitoring.coreos.com/"):
                continue  # a CRD: validate_models.mjs checks it against the operator's schema
            problems.append(f"{name}: no model for this kind")
            continue
        check(d, model, name, problems)
    with open(sys.argv[1], "w") as out:
        json.dump(docs, out)
    for p in problems:
        print(p)
    print(f"validate_manifests: {len(docs)} objects, {len(problems)} problems")
    sys.exit(1 if problems else 0)


main()
