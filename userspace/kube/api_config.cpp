#include "kube/api_config.h"

#include <filesystem>

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include "egressd/common/file_input.h"
#include "egressd/common/one_line.h"
#include "kube/bearer_token.h"
#include "kube/json_reader.h"

namespace egressd::kube {
namespace {

Result<std::string> read_small_file(const std::string& path, std::string_view what) {
  return read_regular_file(path, kMaxKubeconfigBytes, fmt::format("{} {}", what, path));
}

std::string resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || std::filesystem::path(path).is_absolute()) return path;
  return (std::filesystem::path(base_dir) / path).string();
}

// The map of the named entry in a kubeconfig list ("clusters", "contexts", "users"):
// [{name: x, cluster: {...}}].
Result<YAML::Node> named_entry(const YAML::Node& root, const char* list, const char* field,
                               const std::string& name) {
  const YAML::Node entries = root[list];
  if (entries && !entries.IsSequence()) {
    return fail(Errc::kInvalidArgument, fmt::format("{}: expected a list", list));
  }
  if (entries) {
    for (const auto& e : entries) {
      if (e.IsMap() && e["name"] && e["name"].Scalar() == name) {
        YAML::Node body = e[field];
        if (!body || !body.IsMap()) {
          return fail(Errc::kInvalidArgument,
                      fmt::format("{} {}: {}: expected a map", list, quote(name), field));
        }
        return body;
      }
    }
  }
  return fail(Errc::kInvalidArgument, fmt::format("{}: no entry named {}", list, quote(name)));
}

std::string scalar(const YAML::Node& map, const char* key) {
  const YAML::Node v = map[key];
  return v && v.IsScalar() ? v.Scalar() : std::string();
}

Status decode_into(const YAML::Node& map, const char* key, std::string& out) {
  const std::string text = scalar(map, key);
  if (text.empty()) return {};
  auto decoded = base64_decode(text);
  if (!decoded) return fail(Errc::kInvalidArgument, fmt::format("{}: invalid base64", key));
  out = std::move(*decoded);
  return {};
}

Result<ApiConfig> parse_kubeconfig_node(const YAML::Node& root, const std::string& base_dir,
                                        std::string_view wanted) {
  if (!root.IsMap()) return fail(Errc::kInvalidArgument, "expected a map at the top level");
  std::string context = std::string(wanted);
  if (context.empty()) context = scalar(root, "current-context");
  if (context.empty()) {
    return fail(Errc::kInvalidArgument, "current-context: missing (and no context given)");
  }
  auto ctx = named_entry(root, "contexts", "context", context);
  if (!ctx) return std::unexpected(std::move(ctx.error()));
  auto cluster = named_entry(root, "clusters", "cluster", scalar(*ctx, "cluster"));
  if (!cluster) return std::unexpected(std::move(cluster.error()));
  ApiConfig cfg;
  cfg.server = scalar(*cluster, "server");
  while (!cfg.server.empty() && cfg.server.back() == '/') cfg.server.pop_back();
  if (!cfg.server.starts_with("https://") && !cfg.server.starts_with("http://")) {
    return fail(Errc::kInvalidArgument,
                fmt::format("cluster {}: server: expected an https:// URL, got {}",
                            quote(scalar(*ctx, "cluster")), quote(cfg.server)));
  }
  cfg.ca_file = resolve(base_dir, scalar(*cluster, "certificate-authority"));
  if (auto st = decode_into(*cluster, "certificate-authority-data", cfg.ca_pem); !st) {
    return std::unexpected(std::move(st.error()));
  }
  cfg.insecure_skip_tls_verify = scalar(*cluster, "insecure-skip-tls-verify") == "true";

  // A context without a user (anonymous) is allowed; the server decides.
  const std::string user_name = scalar(*ctx, "user");
  if (!user_name.empty()) {
    auto user = named_entry(root, "users", "user", user_name);
    if (!user) return std::unexpected(std::move(user.error()));
    for (const char* unsupported : {"exec", "auth-provider", "username"}) {
      if ((*user)[unsupported]) {
        return fail(Errc::kUnsupported,
                    fmt::format("user {}: {} is not supported: use a token, tokenFile or client "
                                "certificate (docs/kubernetes.md)",
                                quote(user_name), unsupported));
      }
    }
    if (const std::string token = scalar(*user, "token"); !token.empty()) {
      auto parsed = parse_bearer_token(token);
      if (!parsed) {
        return std::unexpected(
            std::move(parsed.error()).wrap(fmt::format("user {}: token", quote(user_name))));
      }
      cfg.token = std::move(*parsed);
    }
    cfg.token_file = resolve(base_dir, scalar(*user, "tokenFile"));
    cfg.client_cert_file = resolve(base_dir, scalar(*user, "client-certificate"));
    cfg.client_key_file = resolve(base_dir, scalar(*user, "client-key"));
    if (auto st = decode_into(*user, "client-certificate-data", cfg.client_cert_pem); !st) {
      return std::unexpected(std::move(st.error()).wrap("user " + quote(user_name)));
    }
    if (auto st = decode_into(*user, "client-key-data", cfg.client_key_pem); !st) {
      return std::unexpected(std::move(st.error()).wrap("user " + quote(user_name)));
    }
    const bool has_cert = !cfg.client_cert_file.empty() || !cfg.client_cert_pem.empty();
    const bool has_key = !cfg.client_key_file.empty() || !cfg.client_key_pem.empty();
    if (has_cert != has_key) {
      return fail(Errc::kInvalidArgument,
                  fmt::format("user {}: a client certificate needs its key and vice versa",
                              quote(user_name)));
    }
  }
  cfg.source = fmt::format("context {}", quote(context));
  return cfg;
}

}  // namespace

bool in_cluster_available(const std::map<std::string, std::string>& env) {
  const auto it = env.find("KUBERNETES_SERVICE_HOST");
  return it != env.end() && !it->second.empty();
}

Result<ApiConfig> in_cluster_config(const std::map<std::string, std::string>& env,
                                    std::string_view sa_dir) {
  const auto get = [&](const char* name) {
    const auto it = env.find(name);
    return it == env.end() ? std::string() : it->second;
  };
  const std::string host = get("KUBERNETES_SERVICE_HOST");
  const std::string port = get("KUBERNETES_SERVICE_PORT");
  if (host.empty() || port.empty()) {
    return fail(Errc::kNotFound,
                "in-cluster config: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT must be "
                "set (not running in a pod?)");
  }
  ApiConfig cfg;
  // An IPv6 service address needs brackets in a URL (RFC 3986 §3.2.2).
  cfg.server = host.find(':') != std::string::npos ? fmt::format("https://[{}]:{}", host, port)
                                                   : fmt::format("https://{}:{}", host, port);
  cfg.token_file = fmt::format("{}/token", sa_dir);
  cfg.ca_file = fmt::format("{}/ca.crt", sa_dir);
  if (auto token = read_token_file(cfg.token_file); !token) {
    return std::unexpected(std::move(token.error()).wrap("in-cluster config"));
  }
  if (auto ca = read_small_file(cfg.ca_file, "in-cluster config"); !ca) {
    return std::unexpected(std::move(ca.error()));
  }
  cfg.source = "in-cluster service account";
  return cfg;
}

Result<ApiConfig> parse_kubeconfig(const std::string& yaml, const std::string& base_dir,
                                   std::string_view context) {
  try {
    const YAML::Node root = YAML::Load(yaml);
    return parse_kubeconfig_node(root, base_dir, context);
  } catch (const YAML::Exception& e) {
    // yaml-cpp quotes the input in some messages ("unknown escape character: " and the byte).
    return fail(Errc::kInvalidArgument, fmt::format("malformed YAML at line {}: {}",
                                                    e.mark.line + 1, escape_one_line(e.msg, 200)));
  } catch (const std::exception& e) {
    return fail(Errc::kInvalidArgument,
                fmt::format("malformed kubeconfig: {}", escape_one_line(e.what(), 200)));
  }
}

Result<ApiConfig> load_kubeconfig(const std::string& path, std::string_view context) {
  auto text = read_small_file(path, "kubeconfig");
  if (!text) return std::unexpected(std::move(text.error()));
  const std::string base = std::filesystem::path(path).parent_path().string();
  auto cfg = parse_kubeconfig(*text, base, context);
  if (!cfg) return std::unexpected(std::move(cfg.error()).wrap("kubeconfig " + path));
  // A token file that is missing or holds no token is a start-up error, not requests sent
  // without credentials; HttpClient re-reads it as it rotates.
  if (!cfg->token_file.empty()) {
    if (auto token = read_token_file(cfg->token_file); !token) {
      return std::unexpected(std::move(token.error()).wrap("kubeconfig " + path));
    }
  }
  cfg->source = fmt::format("kubeconfig {} ({})", path, cfg->source);
  return cfg;
}

std::optional<std::string> base64_decode(std::string_view text) {
  const auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  size_t padding = 0;
  for (const char c : text) {
    if (c == '\n' || c == '\r' || c == ' ') continue;
    if (c == '=') {
      ++padding;
      continue;
    }
    const int v = value(c);
    if (v < 0 || padding > 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (padding > 2 || bits >= 6) return std::nullopt;
  return out;
}

}  // namespace egressd::kube
