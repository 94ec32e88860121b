// Where the API server is and how to authenticate: in-cluster (service account) or a kubeconfig.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "egressd/common/error.h"

namespace egressd::kube {

// The service account volume every pod gets (kubernetes.io/docs: "Accessing the Kubernetes API
// from a Pod"): token (rotated by the kubelet), ca.crt.
inline constexpr std::string_view kServiceAccountDir =
    "/var/run/secrets/kubernetes.io/serviceaccount";

struct ApiConfig {
  std::string server;  // "https://10.96.0.1:443", no trailing slash
  // Trust: a CA file or PEM data; neither means the system's CAs.
  std::string ca_file;
  std::string ca_pem;
  bool insecure_skip_tls_verify = false;
  // Bearer token: literal, or a file re-read when it changes (projected tokens rotate hourly).
  std::string token;
  std::string token_file;
  // TLS client certificate (kubeconfig users of kind/kubeadm clusters): files or PEM data.
  std::string client_cert_file;
  std::string client_cert_pem;
  std::string client_key_file;
  std::string client_key_pem;
  std::string source;  // "in-cluster" or "kubeconfig /path (context ctx)", for logs
};

// KUBERNETES_SERVICE_HOST is set in every pod (the kubelet injects the `kubernetes` Service).
[[nodiscard]] bool in_cluster_available(const std::map<std::string, std::string>& env);

// In-cluster config from KUBERNETES_SERVICE_HOST/PORT and `sa_dir`/{token,ca.crt}, as client-go's
// rest.InClusterConfig. Errors name what is missing.
[[nodiscard]] Result<ApiConfig> in_cluster_config(const std::map<std::string, std::string>& env,
                                                  std::string_view sa_dir = kServiceAccountDir);

// A kubeconfig file (kubectl's format, kubernetes.io/docs "Organizing Cluster Access Using
// kubeconfig Files"): the cluster and user of `context`, else of current-context. Relative
// paths are relative to the file's directory. exec and auth-provider plugins and basic auth are
// not supported and are reported as such.
[[nodiscard]] Result<ApiConfig> load_kubeconfig(const std::string& path,
                                                std::string_view context = {});
[[nodiscard]] Result<ApiConfig> parse_kubeconfig(const std::string& yaml,
                                                 const std::string& base_dir,
                                                 std::string_view context = {});

// Standard base64 (RFC 4648 §4), as kubeconfig's *-data fields; nullopt on invalid input.
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

}  // namespace egressd::kube
