// Validates Kubernetes objects (a JSON array on stdin, as validate_manifests.py writes it) against
// the Kubernetes API schemas (npm kubernetes-models, Kubernetes <= 1.34) and the Prometheus
// Operator's (ServiceMonitor, PodMonitor): types, required fields, formats. Prints one line per
// problem; exits 1 if any.
import { readFileSync } from "node:fs";

const modules = {
  "v1/ServiceAccount": "kubernetes-models/v1/ServiceAccount",
  "v1/Service": "kubernetes-models/v1/Service",
  "v1/ConfigMap": "kubernetes-models/v1/ConfigMap",
  "apps/v1/DaemonSet": "kubernetes-models/apps/v1/DaemonSet",
  "rbac.authorization.k8s.io/v1/ClusterRole": "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRole",
  "rbac.authorization.k8s.io/v1/ClusterRoleBinding":
    "kubernetes-models/rbac.authorization.k8s.io/v1/ClusterRoleBinding",
  "monitoring.coreos.com/v1/ServiceMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor",
  "monitoring.coreos.com/v1/PodMonitor":
    "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor",
};

const objects = JSON.parse(readFileSync(0, "utf8"));
let problems = 0;
for (const obj of objects) {
  const key = `${obj.apiVersion}/${obj.kind}`;
  const where = `${key} ${obj.metadata?.name ?? "?"}`;
  const path = modules[key];
  if (!path) {
    console.log(`${where}: no schema for this kind (add it to validate_models.mjs)`);
    problems++;
    continue;
  }
  const Model = (await import(path))[obj.kind];
  try {
    new Model(obj).validate();
  } catch (e) {
    console.log(`${where}: ${e.message}`);
    problems++;
  }
}
console.log(`validate_models: ${objects.length} objects, ${problems} problems`);
process.exit(problems === 0 ? 0 : 1);
