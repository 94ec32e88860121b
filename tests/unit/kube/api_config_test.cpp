// kubeconfig and in-cluster configuration.
#include "kube/api_config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "common/scratch_dir.h"

namespace egressd::kube {
namespace {

const char* kKubeconfig = R"(apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: prod
  cluster:
    server: https://prod.example:6443
    certificate-authority: /etc/prod-ca.crt
- name: kind
  cluster:
    server: https://127.0.0.1:38211/
    certificate-authority-data: aGVsbG8gY2E=
contexts:
- name: dev
  context: {cluster: kind, user: kind-admin, namespace: shop}
- name: prod
  context: {cluster: prod, user: robot}
users:
- name: kind-admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
- name: robot
  user:
    tokenFile: secrets/token
)";

TEST(Kubeconfig, CurrentContextWithInlineData) {
  const auto cfg = parse_kubeconfig(kKubeconfig, "/home/me/.kube");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://127.0.0.1:38211");
  EXPECT_EQ(cfg->ca_pem, "hello ca");
  EXPECT_EQ(cfg->client_cert_pem, "cert");
  EXPECT_EQ(cfg->client_key_pem, "key");
  EXPECT_TRUE(cfg->token.empty());
}

TEST(Kubeconfig, NamedContextWithRelativeTokenFile) {
  const auto cfg = parse_kubeconfig(kKubeconfig, "/home/me/.kube", "prod");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://prod.example:6443");
  EXPECT_EQ(cfg->ca_file, "/etc/prod-ca.crt");
  EXPECT_EQ(cfg->token_file, "/home/me/.kube/secrets/token");
}

TEST(Kubeconfig, ClearErrors) {
  const std::pair<std::string, const char*> cases[] = {
      {"current-context: x\n", "contexts: no entry named \"x\""},
      {"{", "malformed YAML"},
      // yaml-cpp's message quotes the byte it found (a CR): escaped, the error stays one line.
      {"a: \"\\\r\"\n", "malformed YAML at line 1: unknown escape character: \\x0d"},
      {"- a\n- b\n", "expected a map"},
      {std::string(kKubeconfig) + "- name: execer\n  user:\n    exec: {command: aws}\n"
                                  "- name: x\n  user: {}\n",
       nullptr},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {exec: {command: aws}}}]\n",
       "exec is not supported"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'ftp://h'}}]\n",
       "expected an https:// URL"},
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h', certificate-authority-data: '!!'}}]\n",
       "invalid base64"},
      // A literal token with a line break would add a header line of its own.
      {"current-context: c\ncontexts: [{name: c, context: {cluster: k, user: u}}]\n"
       "clusters: [{name: k, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {token: \"abc\\r\\nX-Injected: 1\"}}]\n",
       "user \"u\": token: a control character (0x0d) at byte 3"},
  };
  for (const auto& [text, expected] : cases) {
    const auto cfg = parse_kubeconfig(text, "/tmp");
    if (expected == nullptr) {
      EXPECT_TRUE(cfg.has_value());  // an unused exec user does not matter
      continue;
    }
    ASSERT_FALSE(cfg.has_value()) << text;
    EXPECT_NE(cfg.error().message().find(expected), std::string::npos) << cfg.error().message();
  }
}

TEST(Kubeconfig, MissingFileNamesThePath) {
  const auto cfg = load_kubeconfig("/nonexistent/kubeconfig");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_NE(cfg.error().message().find("/nonexistent/kubeconfig"), std::string::npos);
}

// A tokenFile that is missing or holds no token is a start-up error, not requests sent without
// credentials.
TEST(Kubeconfig, TokenFileIsCheckedWhenLoaded) {
  const egressd::testing::ScratchDir scratch("egd-kc");
  const std::filesystem::path dir = scratch.path();
  const auto kubeconfig = (dir / "config").string();
  std::ofstream(kubeconfig) << kKubeconfig;  // context "prod" uses tokenFile: secrets/token
  const std::string token_file = (dir / "secrets" / "token").string();
  auto cfg = load_kubeconfig(kubeconfig, "prod");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(), "kubeconfig " + kubeconfig + ": token file " + token_file +
                                       ": cannot open file: No such file or directory");
  std::filesystem::create_directories(dir / "secrets");
  std::ofstream(token_file) << "tok\r\nX-Injected: 1\n";
  cfg = load_kubeconfig(kubeconfig, "prod");
  ASSERT_FALSE(cfg.has_value());
  EXPECT_EQ(cfg.error().message(), "kubeconfig " + kubeconfig + ": token file " + token_file +
                                       ": a control character (0x0d) at byte 3");
  std::ofstream(token_file) << "tok\n";
  cfg = load_kubeconfig(kubeconfig, "prod");
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->token_file, token_file);
}

TEST(InCluster, ReadsServiceAccountAndEnvironment) {
  const auto dir =
      std::filesystem::path(::testing::TempDir()) / ("egd-sa-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "token") << "tok";
  std::ofstream(dir / "ca.crt") << "ca";
  std::map<std::string, std::string> env = {{"KUBERNETES_SERVICE_HOST", "fd00:96::1"},
                                            {"KUBERNETES_SERVICE_PORT", "443"}};
  EXPECT_TRUE(in_cluster_available(env));
  const auto cfg = in_cluster_config(env, dir.string());
  ASSERT_TRUE(cfg.has_value()) << cfg.error().message();
  EXPECT_EQ(cfg->server, "https://[fd00:96::1]:443");
  EXPECT_EQ(cfg->token_file, (dir / "token").string());
  EXPECT_EQ(cfg->ca_file, (dir / "ca.crt").string());
  std::ofstream(dir / "token") << "tok\nX-Injected: 1";
  const auto bad = in_cluster_config(env, dir.string());
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message(), "in-cluster config: token file " + (dir / "token").string() +
                                       ": a control character (0x0a) at byte 3");
  std::filesystem::remove(dir / "token");
  EXPECT_FALSE(in_cluster_config(env, dir.string()).has_value());
  EXPECT_FALSE(in_cluster_config({}, dir.string()).has_value());
  std::filesystem::remove_all(dir);
}

TEST(Base64, Rfc4648Vectors) {
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode("Zm9vYg=="), "foob");
  EXPECT_EQ(base64_decode("Zm9v\nYmE="), "fooba");
  EXPECT_FALSE(base64_decode("Zm9v!").has_value());
}

}  // namespace
}  // namespace egressd::kube
