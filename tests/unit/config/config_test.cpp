// Settings from each source (flag, environment, YAML file), precedence between them, commands,
// --help and --version. Expected values are written out by hand, never taken from the table.
#include "config/config.h"

#include <fstream>
#include <sstream>

#include "config_test_util.h"

namespace egressd::config {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::kFixtureInventory;
using testing::run;
using testing::ScratchDir;

struct SettingCase {
  const char* name;  // flag name and YAML key
  const char* env;   // environment variable, spelled out by hand
  std::string value;
  bool (*matches)(const Config&);
};

const std::vector<SettingCase>& setting_cases() {
  static const std::vector<SettingCase> kCases = {
      {"read-interval", "EGRESSD_READ_INTERVAL", "1500ms",
       [](const Config& c) { return c.read_interval == 1500ms; }},
      {"ct-mode", "EGRESSD_CT_MODE", "netfilter",
       [](const Config& c) { return c.ct_mode == CtMode::kNetfilter; }},
      {"exclude-namespaces", "EGRESSD_EXCLUDE_NAMESPACES", "team-b, team-a",
       [](const Config& c) {
         return c.exclude_namespaces == std::vector<std::string>{"team-a", "team-b"};
       }},
      {"group-public-ips", "EGRESSD_GROUP_PUBLIC_IPS", "true",
       [](const Config& c) { return c.group_public_ips; }},
      {"log-level", "EGRESSD_LOG_LEVEL", "debug",
       [](const Config& c) { return c.log_level == "debug"; }},
      {"http-listen-port", "EGRESSD_HTTP_LISTEN_PORT", "9100",
       [](const Config& c) { return c.http_listen_port == 9100; }},
      {"http-listen-address", "EGRESSD_HTTP_LISTEN_ADDRESS", "::1",
       [](const Config& c) { return c.http_listen_address == "::1"; }},
      {"inventory", "EGRESSD_INVENTORY", kFixtureInventory,
       [](const Config& c) { return c.inventory_path == kFixtureInventory; }},
      {"node-name", "EGRESSD_NODE_NAME", "worker-7",
       [](const Config& c) { return c.node_name == "worker-7"; }},
      {"metrics-series-ttl", "EGRESSD_METRICS_SERIES_TTL", "30m",
       [](const Config& c) { return c.metrics_series_ttl == 1800s; }},
      {"max-flows", "EGRESSD_MAX_FLOWS", "5000",
       [](const Config& c) { return c.max_flows == 5000; }},
      {"queue-capacity", "EGRESSD_QUEUE_CAPACITY", "64",
       [](const Config& c) { return c.queue_capacity == 64; }},
      {"reducer-shards", "EGRESSD_REDUCER_SHARDS", "3",
       [](const Config& c) { return c.reducer_shards == 3; }},
      {"enable-conntrack-accounting", "EGRESSD_ENABLE_CONNTRACK_ACCOUNTING", "false",
       [](const Config& c) { return !c.enable_conntrack_accounting; }},
      {"ebpf-map-entries", "EGRESSD_EBPF_MAP_ENTRIES", "131072",
       [](const Config& c) { return c.ebpf_map_entries == 131072; }},
      {"dns-cgroup-path", "EGRESSD_DNS_CGROUP_PATH", "/host/sys/fs/cgroup",
       [](const Config& c) { return c.dns_cgroup_path == "/host/sys/fs/cgroup"; }},
      {"netfilter-sysctl-dir", "EGRESSD_NETFILTER_SYSCTL_DIR", "/host/proc/sys/net/netfilter",
       [](const Config& c) { return c.netfilter_sysctl_dir == "/host/proc/sys/net/netfilter"; }},
      {"bpf-root", "EGRESSD_BPF_ROOT", "/run/cilium/bpffs",
       [](const Config& c) { return c.bpf_root == "/run/cilium/bpffs"; }},
      {"cilium-version", "EGRESSD_CILIUM_VERSION", "v1.16.3",
       [](const Config& c) { return c.cilium_version == "v1.16.3"; }},
      {"cilium-layout", "EGRESSD_CILIUM_LAYOUT", "c",
       [](const Config& c) { return c.cilium_layout == CiliumLayout::kC; }},
      {"cilium-clock", "EGRESSD_CILIUM_CLOCK", "jiffies",
       [](const Config& c) { return c.cilium_clock == CiliumClock::kJiffies; }},
      {"kubeconfig", "EGRESSD_KUBECONFIG", kFixtureInventory,
       [](const Config& c) { return c.kubeconfig_path == kFixtureInventory; }},
      {"workload-labels", "EGRESSD_WORKLOAD_LABELS", "true",
       [](const Config& c) { return c.workload_labels; }},
      {"kube-watch-list", "EGRESSD_KUBE_WATCH_LIST", "true",
       [](const Config& c) { return c.kube_watch_list; }},
  };
  return kCases;
}

TEST(ConfigSources, CasesDifferFromDefaults) {
  Config defaults;
  defaults.node_name = "test-host";
  for (const auto& c : setting_cases()) EXPECT_FALSE(c.matches(defaults)) << c.name;
}

TEST(ConfigSources, EverySettingFromFlagWithEquals) {
  for (const auto& c : setting_cases()) {
    auto r = run({std::string("--") + c.name + "=" + c.value});
    ASSERT_TRUE(r.has_value()) << c.name << ": " << r.error().message();
    EXPECT_TRUE(c.matches(r->config)) << c.name;
  }
}

TEST(ConfigSources, EverySettingFromFlagWithSeparateValue) {
  for (const auto& c : setting_cases()) {
    if (c.value == "true" || c.value == "false") continue;  // booleans take --name[=value] only
    auto r = run({std::string("--") + c.name, c.value});
    ASSERT_TRUE(r.has_value()) << c.name << ": " << r.error().message();
    EXPECT_TRUE(c.matches(r->config)) << c.name;
  }
}

TEST(ConfigSources, EverySettingFromEnvironment) {
  for (const auto& c : setting_cases()) {
    auto r = run({}, {{c.env, c.value}});
    ASSERT_TRUE(r.has_value()) << c.env << ": " << r.error().message();
    EXPECT_TRUE(c.matches(r->config)) << c.env;
  }
}

TEST(ConfigSources, EverySettingFromFile) {
  ScratchDir dir;
  for (const auto& c : setting_cases()) {
    const std::string path = dir.write("egressd.yaml", std::string(c.name) + ": " + c.value + "\n");
    auto r = run({"--config", path});
    ASSERT_TRUE(r.has_value()) << c.name << ": " << r.error().message();
    EXPECT_TRUE(c.matches(r->config)) << c.name;
    EXPECT_EQ(r->config.config_file, path);
  }
}

TEST(ConfigSources, AllSettingsInOneFile) {
  ScratchDir dir;
  std::string yaml = "# every setting at once\n";
  for (const auto& c : setting_cases()) yaml += std::string(c.name) + ": " + c.value + "\n";
  auto r = run({"--config=" + dir.write("all.yaml", yaml)});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  for (const auto& c : setting_cases()) EXPECT_TRUE(c.matches(r->config)) << c.name;
}

TEST(ConfigSources, Defaults) {
  auto r = run({}, {}, "Worker-7.Example");
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config& c = r->config;
  EXPECT_EQ(r->command, Command::kRun);
  EXPECT_EQ(c.read_interval, 5s);
  EXPECT_EQ(c.ct_mode, CtMode::kAuto);
  EXPECT_EQ(c.exclude_namespaces, std::vector<std::string>{"kube-system"});
  EXPECT_FALSE(c.group_public_ips);
  EXPECT_EQ(c.log_level, "info");
  EXPECT_EQ(c.http_listen_port, 6061);
  EXPECT_EQ(c.http_listen_address, "0.0.0.0");
  EXPECT_EQ(c.inventory_path, "");
  EXPECT_EQ(c.node_name, "worker-7.example");  // the host name, lower-cased as kubelet does
  EXPECT_EQ(c.metrics_series_ttl, 600s);
  EXPECT_EQ(c.max_flows, 1'000'000U);
  EXPECT_EQ(c.queue_capacity, 1024U);
  EXPECT_EQ(c.reducer_shards, 0U);
  EXPECT_TRUE(c.enable_conntrack_accounting);
  EXPECT_EQ(c.ebpf_map_entries, 65536U);
  EXPECT_EQ(c.config_file, "");
}

// The table's default texts, given back as flags, must reproduce the struct's defaults.
TEST(ConfigSources, TableDefaultsMatchStructDefaults) {
  std::vector<std::string> args;
  for (const auto& s : settings()) {
    if (!s.default_text.empty()) {
      args.push_back("--" + std::string(s.name) + "=" + std::string(s.default_text));
    }
  }
  ASSERT_GE(args.size(), 11U);
  auto r = run(args);
  ASSERT_TRUE(r.has_value()) << r.error().message();
  const Config d;
  const Config& c = r->config;
  EXPECT_EQ(c.read_interval, d.read_interval);
  EXPECT_EQ(c.ct_mode, d.ct_mode);
  EXPECT_EQ(c.exclude_namespaces, d.exclude_namespaces);
  EXPECT_EQ(c.group_public_ips, d.group_public_ips);
  EXPECT_EQ(c.log_level, d.log_level);
  EXPECT_EQ(c.http_listen_port, d.http_listen_port);
  EXPECT_EQ(c.http_listen_address, d.http_listen_address);
  EXPECT_EQ(c.metrics_series_ttl, d.metrics_series_ttl);
  EXPECT_EQ(c.max_flows, d.max_flows);
  EXPECT_EQ(c.queue_capacity, d.queue_capacity);
  EXPECT_EQ(c.reducer_shards, d.reducer_shards);
  EXPECT_EQ(c.enable_conntrack_accounting, d.enable_conntrack_accounting);
  EXPECT_EQ(c.ebpf_map_entries, d.ebpf_map_entries);
}

// Every --ct-mode value, and its name for logs and the exported mode.
TEST(ConfigSources, CtModeValues) {
  for (const auto& [text, mode] :
       {std::pair{"auto", CtMode::kAuto}, std::pair{"netfilter", CtMode::kNetfilter},
        std::pair{"ebpf", CtMode::kEbpf}, std::pair{"cilium", CtMode::kCilium}}) {
    auto r = run({std::string("--ct-mode=") + text});
    ASSERT_TRUE(r.has_value()) << text << ": " << r.error().message();
    EXPECT_EQ(r->config.ct_mode, mode) << text;
    EXPECT_EQ(ct_mode_name(mode), text);
  }
}

TEST(ConfigPrecedence, FlagOverEnvOverFileOverDefault) {
  ScratchDir dir;
  const std::string file = dir.write("c.yaml", "read-interval: 10s\n");
  const Environment env{{"EGRESSD_READ_INTERVAL", "20s"}};
  auto all = run({"--config", file, "--read-interval", "30s"}, env);
  ASSERT_TRUE(all.has_value()) << all.error().message();
  EXPECT_EQ(all->config.read_interval, 30s);
  auto no_flag = run({"--config", file}, env);
  ASSERT_TRUE(no_flag.has_value());
  EXPECT_EQ(no_flag->config.read_interval, 20s);
  auto file_only = run({"--config", file});
  ASSERT_TRUE(file_only.has_value());
  EXPECT_EQ(file_only->config.read_interval, 10s);
  auto none = run({});
  ASSERT_TRUE(none.has_value());
  EXPECT_EQ(none->config.read_interval, 5s);
}

TEST(ConfigPrecedence, ListsAreReplacedNotMerged) {
  ScratchDir dir;
  const std::string file = dir.write("c.yaml", "exclude-namespaces: [a, b]\n");
  auto r = run({"--config", file, "--exclude-namespaces=c"});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.exclude_namespaces, std::vector<std::string>{"c"});
}

TEST(ConfigPrecedence, NodeName) {
  ScratchDir dir;
  const std::string file = dir.write("c.yaml", "node-name: from-file\n");
  const Environment both{{"EGRESSD_NODE_NAME", "from-egressd-env"}, {"NODE_NAME", "from-downward"}};
  EXPECT_EQ(run({"--node-name=from-flag", "--config", file}, both)->config.node_name, "from-flag");
  EXPECT_EQ(run({"--config", file}, both)->config.node_name, "from-egressd-env");
  EXPECT_EQ(run({"--config", file}, {{"NODE_NAME", "from-downward"}})->config.node_name,
            "from-downward");
  EXPECT_EQ(run({"--config", file})->config.node_name, "from-file");
  EXPECT_EQ(run({}, {}, "my-host")->config.node_name, "my-host");
  // An empty EGRESSD_NODE_NAME falls through to NODE_NAME.
  EXPECT_EQ(run({}, {{"EGRESSD_NODE_NAME", ""}, {"NODE_NAME", "n1"}})->config.node_name, "n1");
}

TEST(ConfigPrecedence, ConfigFileFlagOverEnv) {
  ScratchDir dir;
  const std::string a = dir.write("a.yaml", "log-level: warn\n");
  const std::string b = dir.write("b.yaml", "log-level: error\n");
  auto r = run({"--config", a}, {{"EGRESSD_CONFIG", b}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.log_level, "warn");
  EXPECT_EQ(r->config.config_file, a);
  auto e = run({}, {{"EGRESSD_CONFIG", b}});
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_EQ(e->config.log_level, "error");
  // An empty --config disables the file named by the environment.
  auto off = run({"--config="}, {{"EGRESSD_CONFIG", b}});
  ASSERT_TRUE(off.has_value()) << off.error().message();
  EXPECT_EQ(off->config.log_level, "info");
}

TEST(ConfigPrecedence, LastFlagWins) {
  auto r = run({"--read-interval", "2s", "--read-interval=3s"});
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->config.read_interval, 3s);
}

TEST(ConfigEnv, EmptyAndUnrelatedVariablesAreIgnored) {
  // EGRESSD_SERVICE_HOST/PORT are what the kubelet injects for a Service named "egressd".
  auto r = run({}, {{"EGRESSD_READ_INTERVAL", ""},
                    {"EGRESSD_SERVICE_HOST", "10.96.0.12"},
                    {"EGRESSD_PORT", "tcp://10.96.0.12:6061"},
                    {"READ_INTERVAL", "1s"}});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.read_interval, 5s);
}

TEST(ConfigFlags, BooleanForms) {
  EXPECT_TRUE(run({"--group-public-ips"})->config.group_public_ips);
  EXPECT_TRUE(run({"--group-public-ips=true"})->config.group_public_ips);
  EXPECT_TRUE(run({"--group-public-ips=1"})->config.group_public_ips);
  EXPECT_FALSE(run({"--group-public-ips", "--group-public-ips=false"})->config.group_public_ips);
  EXPECT_FALSE(run({"--enable-conntrack-accounting=F"})->config.enable_conntrack_accounting);
  EXPECT_FALSE(run({"--enable-conntrack-accounting=0"})->config.enable_conntrack_accounting);
}

TEST(ConfigFlags, GoStyleSingleDash) {
  auto r = run({"-read-interval=2s", "-log-level", "warn", "-group-public-ips"});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.read_interval, 2s);
  EXPECT_EQ(r->config.log_level, "warn");
  EXPECT_TRUE(r->config.group_public_ips);
}

TEST(ConfigFlags, NegativeLookingValueIsAValue) {
  // "-5s" is not a flag name, so it is taken as the value and then rejected as a duration.
  EXPECT_EQ(error_of({"--read-interval", "-5s"}),
            "invalid value \"-5s\" for --read-interval (flag): must be between 100ms and 1h");
}

TEST(ConfigFlags, EmptyListFromFlag) {
  auto r = run({"--exclude-namespaces="});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->config.exclude_namespaces.empty());
}

TEST(ConfigCommands, HelpAndVersion) {
  for (const auto& arg : {"--help", "-h", "-help"}) {
    auto r = run({arg});
    ASSERT_TRUE(r.has_value()) << arg;
    EXPECT_EQ(r->command, Command::kHelp) << arg;
  }
  EXPECT_EQ(run({"--version"})->command, Command::kVersion);
  // --help wins over values that would not validate; it does not read the config file.
  EXPECT_EQ(run({"--read-interval", "5x", "--config", "/nonexistent", "--help"})->command,
            Command::kHelp);
}

TEST(ConfigCommands, Init) {
  auto r = run({"init"});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->command, Command::kInit);
  auto flags = run({"--log-level", "debug", "init", "--enable-conntrack-accounting=false"});
  ASSERT_TRUE(flags.has_value()) << flags.error().message();
  EXPECT_EQ(flags->command, Command::kInit);
  EXPECT_EQ(flags->config.log_level, "debug");
  EXPECT_FALSE(flags->config.enable_conntrack_accounting);
  auto after_dashes = run({"--read-interval", "2s", "--", "init"});
  ASSERT_TRUE(after_dashes.has_value()) << after_dashes.error().message();
  EXPECT_EQ(after_dashes->command, Command::kInit);
}

TEST(ConfigHelp, ListsEverySettingWithEnvAndDefault) {
  const std::string help = help_text();
  for (const auto& c : setting_cases()) {
    EXPECT_NE(help.find(std::string("  --") + c.name), std::string::npos) << c.name;
    EXPECT_NE(help.find(c.env), std::string::npos) << c.env;
  }
  for (const char* text : {"--config FILE", "EGRESSD_CONFIG", "NODE_NAME", "default 5s",
                           "default 6061", "default kube-system", "default 10m", "--help",
                           "--version", "init", "flag > environment variable > config file"}) {
    EXPECT_NE(help.find(text), std::string::npos) << text;
  }
}

TEST(ConfigDocs, ConfigurationMdDocumentsEverySetting) {
  std::ifstream in(std::string(EGRESSD_SOURCE_DIR) + "/docs/configuration.md");
  ASSERT_TRUE(in.good());
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string doc = ss.str();
  for (const auto& s : settings()) {
    EXPECT_NE(doc.find("--" + std::string(s.name)), std::string::npos) << s.name;
    EXPECT_NE(doc.find(std::string(s.env)), std::string::npos) << s.env;
  }
}

TEST(ConfigFile, ListForms) {
  ScratchDir dir;
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {"exclude-namespaces:\n  - b\n  - a\n", {"a", "b"}},
      {"exclude-namespaces: [x, y]\n", {"x", "y"}},
      {"exclude-namespaces: \"p,q\"\n", {"p", "q"}},
      {"exclude-namespaces: []\n", {}},
      {"exclude-namespaces: kube-system, kube-system\n", {"kube-system"}},
  };
  for (const auto& [yaml, expected] : cases) {
    auto r = run({"--config", dir.write("c.yaml", yaml)});
    ASSERT_TRUE(r.has_value()) << yaml << r.error().message();
    EXPECT_EQ(r->config.exclude_namespaces, expected) << yaml;
  }
}

TEST(ConfigFile, EmptyAndCommentOnlyFilesSetNothing) {
  ScratchDir dir;
  for (const char* yaml : {"", "# nothing here\n", "---\n"}) {
    auto r = run({"--config", dir.write("c.yaml", yaml)});
    ASSERT_TRUE(r.has_value()) << r.error().message();
    EXPECT_EQ(r->config.read_interval, 5s);
  }
}

TEST(ConfigFile, QuotedAndTypedScalars) {
  ScratchDir dir;
  auto r = run({"--config", dir.write("c.yaml",
                                      "read-interval: \"250ms\"\nhttp-listen-port: 0\n"
                                      "group-public-ips: true\nhttp-listen-address: '::'\n")});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.read_interval, 250ms);
  EXPECT_EQ(r->config.http_listen_port, 0);
  EXPECT_TRUE(r->config.group_public_ips);
  EXPECT_EQ(r->config.http_listen_address, "::");
}

TEST(ConfigFile, KubeconfigMustExistAndIsRelativeToTheFile) {
  auto missing = run({"--kubeconfig", "/nonexistent/kubeconfig"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message(),
            "invalid value \"/nonexistent/kubeconfig\" for --kubeconfig (flag): cannot open file: "
            "No such file or directory");
  ScratchDir dir;
  std::filesystem::create_directory(dir.path() + "/etc");
  dir.write("etc/kubeconfig", "current-context: x\n");
  const std::string file = dir.write("etc/egressd.yaml", "kubeconfig: kubeconfig\n");
  auto r = run({"--config", file});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.kubeconfig_path, dir.path() + "/etc/kubeconfig");
  EXPECT_FALSE(r->config.workload_labels);
}

TEST(ConfigFile, RelativeInventoryIsRelativeToTheFile) {
  ScratchDir dir;
  std::filesystem::create_directory(dir.path() + "/etc");
  std::filesystem::copy_file(kFixtureInventory, dir.path() + "/etc/cluster.json");
  const std::string file = dir.write("etc/egressd.yaml", "inventory: cluster.json\n");
  auto r = run({"--config", file});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_EQ(r->config.inventory_path, dir.path() + "/etc/cluster.json");
}

}  // namespace
}  // namespace egressd::config
