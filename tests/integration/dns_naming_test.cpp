// The DNS tracer end to end (docs/dns.md): dnsmasq (Debian's dnsmasq-base) answers in the
// "internet" namespace — an A record, an AAAA record and a 3-level CNAME chain; pods of the
// topology resolve names over UDP and over TCP, then connect to the addresses; the agent's
// /metrics must carry the name each pod asked for on that pod's flow, and no name on a flow to an
// address the pod never resolved (scoping). Runs with each flow source: naming does not depend
// on it.
#include <poll.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <iostream>
#include <optional>
#include <thread>

#include <gtest/gtest.h>
#include <sys/socket.h>

#include "agent_fixture.h"
#include "dns/message.h"
#include "harness/agent.h"
#include "harness/cluster.h"
#include "harness/expectations.h"
#include "harness/inet.h"
#include "harness/netns.h"
#include "harness/process.h"
#include "harness/topology.h"
#include "harness/util.h"
#include "unit/dns/dns_test_util.h"

namespace egressd::testing {
namespace {

using namespace std::chrono_literals;
using namespace cluster;

constexpr std::string_view kExtra4 = "203.0.113.20";  // a second internet address
constexpr std::string_view kExtra6 = "2001:db8:113::20";

// dnsmasq in `netns`, on kInternetIp4:53 only, with the test's records; killed (SIGKILL, then
// reaped) by ChildProcess's destructor if stop() did not end it.
class Dnsmasq {
 public:
  Dnsmasq(const std::string& netns, const std::filesystem::path& dir)
      : process_(ChildProcess::start(
            {"dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts", "--port=53",
             "--listen-address=" + std::string(kInternetIp4), "--bind-interfaces",
             "--local=/example.com/example.net/example.org/", "--local-ttl=300",
             "--pid-file=", "--user=root", "--log-facility=-",
             // A and AAAA
             "--host-record=direct4.example.com," + std::string(kExtra4),
             "--host-record=direct6.example.com," + std::string(kExtra6),
             // www -> edge -> lb -> svc: a 3-level CNAME chain to both families
             "--cname=www.example.com,edge.example.net", "--cname=edge.example.net,lb.example.org",
             "--cname=lb.example.org,svc.example.com",
             "--host-record=svc.example.com," + std::string(kInternetIp4) + "," +
                 std::string(kInternetIp6)},
            netns, dir / "dnsmasq.log")) {}
  ~Dnsmasq() { process_.stop(2s); }
  Dnsmasq(const Dnsmasq&) = delete;
  Dnsmasq& operator=(const Dnsmasq&) = delete;
  [[nodiscard]] bool running() { return !process_.exited(); }

 private:
  ChildProcess process_;
};

std::vector<uint8_t> make_query(uint16_t id, const std::string& name, uint16_t qtype) {
  DnsBuilder b;
  b.header(id, 0x0100, 1, 0).question(name, qtype);
  return b.bytes();
}

bool wait_readable(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  return ::poll(&p, 1, static_cast<int>(timeout.count())) == 1;
}

// Resolves `name` from namespace `netns` with the server at server:53, over UDP or TCP (with its
// 2-byte length prefix, RFC 1035 §4.2.2). Returns the addresses of the answer, or nullopt when no
// answer came in time.
std::optional<std::vector<IpAddr>> resolve(const std::string& netns, std::string_view server,
                                           const std::string& name, uint16_t qtype, bool tcp) {
  static uint16_t next_id = 0x4000;
  const auto query = make_query(next_id++, name, qtype);
  const SockAddr to = make_sockaddr(std::string(server), 53);
  UniqueFd fd = socket_in_netns(netns, to.family(), tcp ? SOCK_STREAM : SOCK_DGRAM);
  std::vector<uint8_t> response;
  if (tcp) {
    if (::connect(fd.get(), to.get(), to.len) != 0) return std::nullopt;
    std::vector<uint8_t> framed = {static_cast<uint8_t>(query.size() >> 8),
                                   static_cast<uint8_t>(query.size())};
    framed.insert(framed.end(), query.begin(), query.end());
    if (::send(fd.get(), framed.data(), framed.size(), 0) != static_cast<ssize_t>(framed.size())) {
      return std::nullopt;
    }
    std::vector<uint8_t> buf;
    std::array<uint8_t, 4096> chunk{};
    while (buf.size() < 2 || buf.size() < 2 + (size_t{buf[0]} << 8 | buf[1])) {
      if (!wait_readable(fd.get(), 10s)) return std::nullopt;
      const ssize_t n = ::recv(fd.get(), chunk.data(), chunk.size(), 0);
      if (n <= 0) return std::nullopt;
      buf.insert(buf.end(), chunk.begin(), chunk.begin() + n);
    }
    response.assign(buf.begin() + 2, buf.end());
  } else {
    if (::sendto(fd.get(), query.data(), query.size(), 0, to.get(), to.len) !=
        static_cast<ssize_t>(query.size())) {
      return std::nullopt;
    }
    if (!wait_readable(fd.get(), 10s)) return std::nullopt;  // bounds a hang
    std::array<uint8_t, 4096> buf{};
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n <= 0) return std::nullopt;
    response.assign(buf.begin(), buf.begin() + n);
  }
  dns::Parser parser;
  auto r = std::make_unique<dns::Response>();
  if (parser.parse(response, *r) != dns::ParseError::kNone) return std::nullopt;
  std::vector<IpAddr> out;
  for (const auto& a : r->answers()) out.push_back(a.addr);
  return out;
}

class DnsNamingTest : public ::testing::TestWithParam<std::string_view> {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "integration tests need root";
    topo_ = std::make_unique<Topology>();
    dir_ = std::make_unique<TempDir>("dns");
    // Two more internet addresses, on the internet namespace's loopback (gone with it).
    run_checked({"ip", "addr", "add", std::string(kExtra4) + "/32", "dev", "lo"},
                in_netns_opts(topo_->internet()));
    run_checked({"ip", "addr", "add", std::string(kExtra6) + "/128", "dev", "lo", "nodad"},
                in_netns_opts(topo_->internet()));
    dnsmasq_ = std::make_unique<Dnsmasq>(topo_->internet(), dir_->path());
    agent_ = std::make_unique<Agent>(
        *topo_, dir_->path(), AgentOptions{.extra_args = {"--ct-mode", std::string(GetParam())}});
    // dnsmasq answers (it may take a moment to bind).
    ASSERT_TRUE(poll_until(
        [&] {
          return resolve(topo_->node(), kInternetIp4, "direct4.example.com", dns::kTypeA, false)
              .has_value();
        },
        30s, 100ms))
        << "dnsmasq does not answer:\n"
        << read_file_or_empty(dir_->path() / "dnsmasq.log");
  }

  void TearDown() override {
    if (agent_ && HasFailure()) {
      std::cerr << "---- agent log (last 60 lines) ----\n"
                << tail_lines(agent_->log(), 60) << "---- end ----\n";
    }
    if (agent_ && agent_->running()) {
      const auto stop = agent_->stop();
      EXPECT_EQ(stop.exit_code, 0) << agent_->status_text();
    }
    agent_.reset();
    dnsmasq_.reset();
    dir_.reset();
    topo_.reset();
  }

  static std::string read_file_or_empty(const std::filesystem::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }

  // Resolves, checks the answer, then opens a TCP connection to it with a short exchange.
  void resolve_and_connect(const PodInfo& pod, const std::string& name, uint16_t qtype, bool tcp,
                           std::string_view expect_addr) {
    const std::string& ns = topo_->netns_of(pod);
    const auto addrs = resolve(ns, kInternetIp4, name, qtype, tcp);
    ASSERT_TRUE(addrs.has_value()) << name << " did not resolve from " << pod.name;
    ASSERT_EQ(addrs->size(), 1u) << name;
    EXPECT_EQ(addrs->front().to_string(), canonical_ip(expect_addr)) << name;
    connect_to(pod, expect_addr);
  }

  void connect_to(const PodInfo& pod, std::string_view addr) {
    const uint16_t port = free_tcp_port(topo_->internet(), std::string(addr));
    tcp_flow(topo_->netns_of(pod), topo_->internet(), addr, port, addr, port, {{100, 2000}});
  }

  // The value of dst_dns_name on the agent's TCP series src -> dst once it appears (nullopt:
  // no such series in time).
  std::optional<std::string> dns_name_of(std::string_view src, std::string_view dst,
                                         const std::string& expected) {
    std::optional<std::string> seen;
    poll_until(
        [&] {
          const auto series = agent_series(agent_->metrics());
          const auto it = series.find(SeriesKey{canonical_ip(src), canonical_ip(dst), "TCP"});
          if (it == series.end()) return false;
          const auto label = it->second.labels.find("dst_dns_name");
          seen = label == it->second.labels.end() ? "<no label>" : label->second;
          return *seen == expected;
        },
        60s, 200ms);
    return seen;
  }

  uint64_t self_metric(const std::string& name, const std::string& label_value = "") {
    uint64_t v = 0;
    for (const auto& s : agent_->metrics()) {
      if (s.name != name) continue;
      bool match = label_value.empty();
      for (const auto& [k, val] : s.labels) match = match || val == label_value;
      if (match) v += static_cast<uint64_t>(s.value);
    }
    return v;
  }

  std::unique_ptr<Topology> topo_;
  std::unique_ptr<TempDir> dir_;
  std::unique_ptr<Dnsmasq> dnsmasq_;
  std::unique_ptr<Agent> agent_;
};

TEST_P(DnsNamingTest, FlowsCarryTheNameThePodAskedFor) {
  EXPECT_EQ(self_metric("egressd_dns_tracer_running"), 1u) << "the DNS tracer did not start";
  // pod-a over UDP: the CNAME chain's head (A), and a plain AAAA.
  resolve_and_connect(kPodA, "www.example.com", dns::kTypeA, false, kInternetIp4);
  resolve_and_connect(kPodA, "direct6.example.com", dns::kTypeAaaa, false, kExtra6);
  // pod-b over TCP: a plain A, and the chain's AAAA (resolved over IPv4 transport, connected from
  // the pod's IPv6 address: the pod's scope covers both of its addresses).
  resolve_and_connect(kPodB, "direct4.example.com", dns::kTypeA, true, kExtra4);
  resolve_and_connect(kPodB, "www.example.com", dns::kTypeAaaa, true, kInternetIp6);
  // pod-b never resolved 203.0.113.10: pod-a's answer must not name pod-b's flow.
  connect_to(kPodB, kInternetIp4);

  EXPECT_EQ(dns_name_of(kPodA.ip4, kInternetIp4, "www.example.com"), "www.example.com");
  EXPECT_EQ(dns_name_of(kPodA.ip6, kExtra6, "direct6.example.com"), "direct6.example.com");
  EXPECT_EQ(dns_name_of(kPodB.ip4, kExtra4, "direct4.example.com"), "direct4.example.com");
  EXPECT_EQ(dns_name_of(kPodB.ip6, kInternetIp6, "www.example.com"), "www.example.com");
  EXPECT_EQ(dns_name_of(kPodB.ip4, kInternetIp4, ""), "");

  // In-cluster peers never carry a name (the label is there, empty).
  EXPECT_GE(self_metric("egressd_dns_responses_total", "udp"), 2u);
  EXPECT_GE(self_metric("egressd_dns_responses_total", "tcp"), 2u);
  EXPECT_EQ(self_metric("egressd_dns_ring_lost_total"), 0u);
  EXPECT_TRUE(dnsmasq_->running());
}

INSTANTIATE_TEST_SUITE_P(Sources, DnsNamingTest, ::testing::ValuesIn(kSources), source_param_name);

}  // namespace
}  // namespace egressd::testing
