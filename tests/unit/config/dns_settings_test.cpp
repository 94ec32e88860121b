// The DNS tracer's settings (docs/dns.md): defaults, every source, validation messages.
#include "config/config.h"
#include "config_test_util.h"

namespace egressd::config {
namespace {

using namespace std::chrono_literals;
using testing::error_of;
using testing::run;
using testing::ScratchDir;

TEST(DnsSettings, Defaults) {
  auto r = run({});
  ASSERT_TRUE(r.has_value()) << r.error().message();
  EXPECT_TRUE(r->config.ebpf_dns_tracer_enabled);
  EXPECT_EQ(r->config.dns_port, 53);
  EXPECT_EQ(r->config.dns_min_ttl, 60s);
  EXPECT_EQ(r->config.dns_max_ttl, 3600s);
  EXPECT_EQ(r->config.dns_cache_size, 65536u);
}

TEST(DnsSettings, FromFlagsEnvironmentAndFile) {
  auto f = run({"--ebpf-dns-tracer-enabled=false", "--dns-port", "5353", "--dns-min-ttl=0s",
                "--dns-max-ttl", "10m", "--dns-cache-size=1000"});
  ASSERT_TRUE(f.has_value()) << f.error().message();
  EXPECT_FALSE(f->config.ebpf_dns_tracer_enabled);
  EXPECT_EQ(f->config.dns_port, 5353);
  EXPECT_EQ(f->config.dns_min_ttl, 0s);
  EXPECT_EQ(f->config.dns_max_ttl, 600s);
  EXPECT_EQ(f->config.dns_cache_size, 1000u);

  auto e = run({}, {{"EGRESSD_EBPF_DNS_TRACER_ENABLED", "0"},
                    {"EGRESSD_DNS_PORT", "54"},
                    {"EGRESSD_DNS_MIN_TTL", "30s"},
                    {"EGRESSD_DNS_CACHE_SIZE", "7"}});
  ASSERT_TRUE(e.has_value()) << e.error().message();
  EXPECT_FALSE(e->config.ebpf_dns_tracer_enabled);
  EXPECT_EQ(e->config.dns_port, 54);
  EXPECT_EQ(e->config.dns_min_ttl, 30s);
  EXPECT_EQ(e->config.dns_cache_size, 7u);

  ScratchDir dir;
  const auto path = dir.write("egressd.yaml",
                              "ebpf-dns-tracer-enabled: false\ndns-port: 8053\ndns-max-ttl: 2h\n");
  auto y = run({"--config", path});
  ASSERT_TRUE(y.has_value()) << y.error().message();
  EXPECT_FALSE(y->config.ebpf_dns_tracer_enabled);
  EXPECT_EQ(y->config.dns_port, 8053);
  EXPECT_EQ(y->config.dns_max_ttl, 7200s);
}

TEST(DnsSettings, BadValuesNameSettingValueAndSource) {
  EXPECT_EQ(error_of({"--dns-port=0"}),
            "invalid value \"0\" for --dns-port (flag): expected a port number from 1 to 65535");
  EXPECT_EQ(error_of({"--dns-port=65536"}),
            "invalid value \"65536\" for --dns-port (flag): expected a port number from 1 to "
            "65535");
  EXPECT_EQ(error_of({"--dns-min-ttl=1500ms"}),
            "invalid value \"1500ms\" for --dns-min-ttl (flag): expected a whole number of "
            "seconds");
  EXPECT_EQ(error_of({"--dns-max-ttl=0s"}),
            "invalid value \"0s\" for --dns-max-ttl (flag): must be between 1s and 168h");
  EXPECT_EQ(error_of({"--dns-cache-size=0"}),
            "invalid value \"0\" for --dns-cache-size (flag): expected a whole number from 1 to "
            "16777216");
  EXPECT_EQ(error_of({"--ebpf-dns-tracer-enabled=maybe"}),
            "invalid value \"maybe\" for --ebpf-dns-tracer-enabled (flag): expected true or "
            "false");
  EXPECT_EQ(error_of({"--dns-min-ttl=2h"}),
            "invalid value \"2h\" for --dns-min-ttl (flag): must not exceed --dns-max-ttl "
            "(\"1h\", default)");
  EXPECT_EQ(error_of({}, {{"EGRESSD_DNS_MAX_TTL", "30s"}}),
            "invalid value \"30s\" for --dns-max-ttl (env EGRESSD_DNS_MAX_TTL): must not be "
            "below --dns-min-ttl (\"1m\", default)");
}

}  // namespace
}  // namespace egressd::config
