// Every way a setting can be wrong gives exactly one line naming the setting, the value and where
// it came from. The expected lines are written out in full.
#include "config/config.h"
#include "config_test_util.h"

namespace egressd::config {
namespace {

using testing::error_of;
using testing::run;
using testing::ScratchDir;

struct ErrorCase {
  std::vector<std::string> args;
  Environment env;
  const char* message;
};

class BadValue : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(BadValue, OneLineNamingSettingValueAndSource) {
  const auto& c = GetParam();
  auto r = run(c.args, c.env);
  ASSERT_FALSE(r.has_value()) << c.message;
  EXPECT_EQ(r.error().message(), c.message);
  EXPECT_EQ(r.error().message().find('\n'), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Flags, BadValue,
    ::testing::Values(
        ErrorCase{{"--read-interval", "5x"},
                  {},
                  "invalid value \"5x\" for --read-interval (flag): expected a duration like 5s "
                  "or 500ms"},
        ErrorCase{{"--read-interval=5"},
                  {},
                  "invalid value \"5\" for --read-interval (flag): expected a duration like 5s "
                  "or 500ms"},
        ErrorCase{{"--read-interval=1d"},
                  {},
                  "invalid value \"1d\" for --read-interval (flag): expected a duration like 5s "
                  "or 500ms"},
        ErrorCase{{"--read-interval=50ms"},
                  {},
                  "invalid value \"50ms\" for --read-interval (flag): must be between 100ms and "
                  "1h"},
        ErrorCase{{"--read-interval=61m"},
                  {},
                  "invalid value \"61m\" for --read-interval (flag): must be between 100ms and "
                  "1h"},
        ErrorCase{{"--read-interval=100500us"},
                  {},
                  "invalid value \"100500us\" for --read-interval (flag): expected a whole "
                  "number of milliseconds"},
        ErrorCase{{"--metrics-series-ttl=1500ms"},
                  {},
                  "invalid value \"1500ms\" for --metrics-series-ttl (flag): expected a whole "
                  "number of seconds"},
        ErrorCase{{"--metrics-series-ttl=200h"},
                  {},
                  "invalid value \"200h\" for --metrics-series-ttl (flag): must be between 1s "
                  "and 168h"},
        ErrorCase{{"--metrics-series-ttl=3s"},
                  {},
                  "invalid value \"3s\" for --metrics-series-ttl (flag): must be longer than "
                  "--read-interval (\"5s\", default)"},
        ErrorCase{{"--metrics-series-ttl=10s", "--read-interval=10s"},
                  {},
                  "invalid value \"10s\" for --metrics-series-ttl (flag): must be longer than "
                  "--read-interval (\"10s\", flag)"},
        ErrorCase{{"--read-interval=20m"},
                  {},
                  "invalid value \"20m\" for --read-interval (flag): must be shorter than "
                  "--metrics-series-ttl (\"10m\", default)"},
        ErrorCase{{"--http-listen-port=70000"},
                  {},
                  "invalid value \"70000\" for --http-listen-port (flag): expected a port number "
                  "from 0 to 65535"},
        ErrorCase{{"--http-listen-port", "-1"},
                  {},
                  "invalid value \"-1\" for --http-listen-port (flag): expected a port number "
                  "from 0 to 65535"},
        ErrorCase{{"--http-listen-port=80a"},
                  {},
                  "invalid value \"80a\" for --http-listen-port (flag): expected a port number "
                  "from 0 to 65535"},
        ErrorCase{{"--http-listen-address=localhost"},
                  {},
                  "invalid value \"localhost\" for --http-listen-address (flag): expected an IP "
                  "address literal like 0.0.0.0, 127.0.0.1 or ::"},
        ErrorCase{{"--http-listen-address=[::1]"},
                  {},
                  "invalid value \"[::1]\" for --http-listen-address (flag): expected an IP "
                  "address literal like 0.0.0.0, 127.0.0.1 or ::"},
        ErrorCase{{"--log-level=verbose"},
                  {},
                  "invalid value \"verbose\" for --log-level (flag): expected one of: trace, "
                  "debug, info, warn, error"},
        ErrorCase{{"--ct-mode=kernel"},
                  {},
                  "invalid value \"kernel\" for --ct-mode (flag): expected one of: auto, "
                  "netfilter, ebpf, cilium"},
        ErrorCase{{"--ebpf-map-entries=1023"},
                  {},
                  "invalid value \"1023\" for --ebpf-map-entries (flag): expected a whole "
                  "number from 1024 to 16777216"},
        ErrorCase{{"--ebpf-map-entries=16777217"},
                  {},
                  "invalid value \"16777217\" for --ebpf-map-entries (flag): expected a whole "
                  "number from 1024 to 16777216"},
        ErrorCase{{"--bpf-root=sys/fs/bpf"},
                  {},
                  "invalid value \"sys/fs/bpf\" for --bpf-root (flag): expected an absolute "
                  "path"},
        ErrorCase{{"--cilium-version=1"},
                  {},
                  "invalid value \"1\" for --cilium-version (flag): expected a Cilium version "
                  "like 1.16 or v1.16.3"},
        ErrorCase{{"--cilium-version=1.x"},
                  {},
                  "invalid value \"1.x\" for --cilium-version (flag): expected a Cilium version "
                  "like 1.16 or v1.16.3"},
        ErrorCase{{"--cilium-version=latest"},
                  {},
                  "invalid value \"latest\" for --cilium-version (flag): expected a Cilium "
                  "version like 1.16 or v1.16.3"},
        ErrorCase{{"--cilium-layout=E"},
                  {},
                  "invalid value \"E\" for --cilium-layout (flag): expected one of: A, B, C, D"},
        ErrorCase{{"--cilium-layout=AB"},
                  {},
                  "invalid value \"AB\" for --cilium-layout (flag): expected one of: A, B, C, D"},
        ErrorCase{{"--cilium-clock=tsc"},
                  {},
                  "invalid value \"tsc\" for --cilium-clock (flag): expected one of: auto, "
                  "ktime, jiffies"},
        ErrorCase{{"--max-flows=0"},
                  {},
                  "invalid value \"0\" for --max-flows (flag): expected a whole number from 1 to "
                  "100000000"},
        ErrorCase{{"--max-flows=1e6"},
                  {},
                  "invalid value \"1e6\" for --max-flows (flag): expected a whole number from 1 "
                  "to 100000000"},
        ErrorCase{{"--max-flows=99999999999999999999999"},
                  {},
                  "invalid value \"99999999999999999999999\" for --max-flows (flag): expected a "
                  "whole number from 1 to 100000000"},
        ErrorCase{{"--queue-capacity=2000000"},
                  {},
                  "invalid value \"2000000\" for --queue-capacity (flag): expected a whole "
                  "number from 1 to 1048576"},
        ErrorCase{{"--reducer-shards=257"},
                  {},
                  "invalid value \"257\" for --reducer-shards (flag): expected 0 (one per CPU) "
                  "or a whole number up to 256"},
        ErrorCase{{"--reducer-shards=-1"},
                  {},
                  "invalid value \"-1\" for --reducer-shards (flag): expected 0 (one per CPU) "
                  "or a whole number up to 256"},
        ErrorCase{{"--group-public-ips=yes"},
                  {},
                  "invalid value \"yes\" for --group-public-ips (flag): expected true or false"},
        ErrorCase{{"--exclude-namespaces=default,Kube-System"},
                  {},
                  "invalid value \"default,Kube-System\" for --exclude-namespaces (flag): "
                  "\"Kube-System\" is not a namespace name (lowercase letters, digits and '-', "
                  "at most 63)"},
        ErrorCase{{"--node-name=a b"},
                  {},
                  "invalid value \"a b\" for --node-name (flag): must not contain spaces, "
                  "control characters or '/'"},
        ErrorCase{{"--node-name=a\nb"},
                  {},
                  "invalid value \"a\\x0ab\" for --node-name (flag): must not contain spaces, "
                  "control characters or '/'"},
        ErrorCase{{"--inventory=/nonexistent/egressd/inventory.json"},
                  {},
                  "invalid value \"/nonexistent/egressd/inventory.json\" for --inventory (flag): "
                  "cannot open file: No such file or directory"},
        ErrorCase{{"--inventory=/"},
                  {},
                  "invalid value \"/\" for --inventory (flag): not a regular file (a directory)"},
        ErrorCase{{"--config=/nonexistent/egressd.yaml"},
                  {},
                  "invalid value \"/nonexistent/egressd.yaml\" for --config (flag): cannot open "
                  "file: No such file or directory"},
        ErrorCase{{"--raed-interval=5s"},
                  {},
                  "unknown flag --raed-interval: did you mean --read-interval?"},
        ErrorCase{
            {"--frobnicate"}, {}, "unknown flag --frobnicate: egressd --help lists every flag"},
        ErrorCase{{"--read-interval"}, {}, "flag --read-interval needs a value"},
        ErrorCase{{"--inventory", "--node-name", "x"}, {}, "flag --inventory needs a value"},
        ErrorCase{{"start"}, {}, "unexpected argument \"start\": the only command is \"init\""},
        ErrorCase{
            {"init", "init"}, {}, "unexpected argument \"init\": the only command is \"init\""},
        ErrorCase{{""}, {}, "unexpected argument \"\": the only command is \"init\""}));

INSTANTIATE_TEST_SUITE_P(
    Environment, BadValue,
    ::testing::Values(
        ErrorCase{{},
                  {{"EGRESSD_READ_INTERVAL", "5x"}},
                  "invalid value \"5x\" for --read-interval (env EGRESSD_READ_INTERVAL): "
                  "expected a duration like 5s or 500ms"},
        ErrorCase{{},
                  {{"EGRESSD_HTTP_LISTEN_PORT", "http"}},
                  "invalid value \"http\" for --http-listen-port (env EGRESSD_HTTP_LISTEN_PORT): "
                  "expected a port number from 0 to 65535"},
        ErrorCase{{},
                  {{"NODE_NAME", "bad/name"}},
                  "invalid value \"bad/name\" for --node-name (env NODE_NAME): must not contain "
                  "spaces, control characters or '/'"},
        ErrorCase{{},
                  {{"EGRESSD_CONFIG", "/nonexistent/egressd.yaml"}},
                  "invalid value \"/nonexistent/egressd.yaml\" for --config (env "
                  "EGRESSD_CONFIG): cannot open file: No such file or directory"},
        ErrorCase{{},
                  {{"EGRESSD_METRICS_SERIES_TTL", "4s"}},
                  "invalid value \"4s\" for --metrics-series-ttl (env "
                  "EGRESSD_METRICS_SERIES_TTL): must be longer than --read-interval (\"5s\", "
                  "default)"},
        // A bad value is an error even when a flag overrides it.
        ErrorCase{{"--log-level=info"},
                  {{"EGRESSD_LOG_LEVEL", "loud"}},
                  "invalid value \"loud\" for --log-level (env EGRESSD_LOG_LEVEL): expected one "
                  "of: trace, debug, info, warn, error"}));

TEST(BadConfigFile, Codes) {
  auto missing = run({"--config=/nonexistent/egressd.yaml"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code(), Errc::kNotFound);
  auto missing_inv = run({"--inventory=/nonexistent/x.json"});
  ASSERT_FALSE(missing_inv.has_value());
  EXPECT_EQ(missing_inv.error().code(), Errc::kNotFound);
  auto bad = run({"--read-interval=x"});
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code(), Errc::kInvalidArgument);
}

// YAML problems: the expected line is built around the scratch file's path.
struct FileCase {
  const char* yaml;
  const char* message;  // "{}" stands for the file's path
};

class BadFile : public ::testing::TestWithParam<FileCase> {};

TEST_P(BadFile, OneLineNamingFileAndLine) {
  ScratchDir dir;
  const std::string path = dir.write("egressd.yaml", GetParam().yaml);
  std::string expected = GetParam().message;
  for (size_t at = expected.find("{}"); at != std::string::npos; at = expected.find("{}")) {
    expected.replace(at, 2, path);
  }
  const std::string got = error_of({"--config", path});
  EXPECT_EQ(got, expected);
}

INSTANTIATE_TEST_SUITE_P(
    Yaml, BadFile,
    ::testing::Values(
        FileCase{"log-level: info\nread-interval: 5x\n",
                 "invalid value \"5x\" for --read-interval (file {}:2): expected a duration like "
                 "5s or 500ms"},
        FileCase{"raed-interval: 5s\n",
                 "unknown key \"raed-interval\" (file {}:1): did you mean \"read-interval\"?"},
        FileCase{"# comment\nkubeconfg: /x\n",
                 "unknown key \"kubeconfg\" (file {}:2): did you mean \"kubeconfig\"?"},
        FileCase{"config: other.yaml\n",
                 "key \"config\" (file {}:1) is not allowed: a config file cannot name another "
                 "one"},
        FileCase{"read-interval: 5s\nlog-level: info\nread-interval: 6s\n",
                 "duplicate key \"read-interval\" (file {}:3), first set on line 1"},
        FileCase{"read-interval:\n",
                 "invalid value for --read-interval (file {}:1): expected a "
                 "value, got nothing"},
        FileCase{"read-interval: {seconds: 5}\n",
                 "invalid value for --read-interval (file {}:1): expected a value, got a map"},
        FileCase{"read-interval: [5s]\n",
                 "invalid value [\"5s\"] for --read-interval (file {}:1): expected a single "
                 "value, not a list"},
        FileCase{"exclude-namespaces: [a, [b]]\n",
                 "invalid value for --exclude-namespaces (file {}:1): list items must be single "
                 "values, got a list"},
        FileCase{"exclude-namespaces: [a, Bad_Name]\n",
                 "invalid value [\"a\", \"Bad_Name\"] for --exclude-namespaces (file {}:1): "
                 "\"Bad_Name\" is not a namespace name (lowercase letters, digits and '-', at "
                 "most 63)"},
        FileCase{"- read-interval: 5s\n",
                 "config file {}:1:1: expected a map of settings like \"read-interval: 5s\", got "
                 "a list"},
        FileCase{"5s\n",
                 "config file {}:1:1: expected a map of settings like \"read-interval: 5s\", got "
                 "a single value"},
        FileCase{"[a]: 5s\n", "config file {}:1:1: expected a setting name as key, got a list"},
        FileCase{"read-interval: 5s\n---\nlog-level: info\n",
                 "config file {}: expected one YAML document, found more"},
        FileCase{"inventory: /nonexistent/egressd/inventory.json\n",
                 "invalid value \"/nonexistent/egressd/inventory.json\" for --inventory (file "
                 "{}:1): cannot open file: No such file or directory"},
        FileCase{"metrics-series-ttl: 2s\n",
                 "invalid value \"2s\" for --metrics-series-ttl (file {}:1): must be longer than "
                 "--read-interval (\"5s\", default)"}));

TEST(BadConfigFile, MalformedYaml) {
  ScratchDir dir;
  for (const char* yaml :
       {"read-interval: [5s\n", "a: b: c\n", "{read-interval: 5s\n", "\t- x\n: y\n",
        "key: value\n  bad indent: 1\n",
        // yaml-cpp 0.7's LoadAll() looped forever on this (fuzz/config_yaml_fuzz).
        ",read-interval ab\n",
        // yaml-cpp's message quotes the byte it found, here a CR.
        "a: \"\\\r\"\n"}) {
    const std::string path = dir.write("bad.yaml", yaml);
    const std::string got = error_of({"--config", path});
    EXPECT_TRUE(got.starts_with("malformed YAML in config file " + path + ":")) << got;
    EXPECT_EQ(got.find('\n'), std::string::npos) << got;
    EXPECT_EQ(got.find('\r'), std::string::npos) << got;
  }
  const std::string path = dir.write("cr.yaml", "a: \"\\\r\"\n");
  EXPECT_EQ(error_of({"--config", path}),
            "malformed YAML in config file " + path + ":1:7: unknown escape character: \\x0d");
}

TEST(BadConfigFile, DeepNestingDoesNotCrash) {
  ScratchDir dir;
  const std::string path = dir.write("deep.yaml", std::string(100000, '[') + "\n");
  auto r = run({"--config", path});
  EXPECT_FALSE(r.has_value());
}

TEST(BadConfigFile, DirectoryAsConfig) {
  ScratchDir dir;
  EXPECT_EQ(
      error_of({"--config", dir.path()}),
      "invalid value \"" + dir.path() + "\" for --config (flag): not a regular file (a directory)");
}

TEST(BadConfigFile, BinaryGarbage) {
  ScratchDir dir;
  const std::string path = dir.write("garbage.yaml", std::string("\x00\xff\xfe{[:\x01", 7));
  auto r = run({"--config", path});
  EXPECT_FALSE(r.has_value());
}

}  // namespace
}  // namespace egressd::config
