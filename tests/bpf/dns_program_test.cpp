// bpf/dns.bpf.c under BPF_PROG_TEST_RUN (root; label bpf): which packets reach the ring buffer,
// with which header and payload; the capture limit; a full ring counted, never silent. Then the
// whole tracer attached for real: a UDP response delivered to a socket in a private network
// namespace names its address in the cache, and detaching leaves nothing.
#include <sched.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cstring>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "common/manual_clock.h"
#include "common/packet_builder.h"
#include "common/wait.h"
#include "dns/scope.h"
#include "dns/tracer.h"
#include "egressd/abi/dns.h"
#include "loader/libbpf_support.h"
#include "loader/skeleton.h"
#include "unit/dns/dns_test_util.h"

#include "dns.skel.h"

namespace egressd {
namespace {

using testing::PacketBuilder;

const IpAddr kServer4 = IpAddr::parse("10.96.0.10").value();
const IpAddr kClient4 = IpAddr::parse("10.244.1.10").value();
const IpAddr kServer6 = IpAddr::parse("fd00:96::10").value();
const IpAddr kClient6 = IpAddr::parse("fd00:244:1::10").value();

struct Record {
  egressd_dns_event ev{};
  std::vector<uint8_t> payload;
};

class DnsProgramTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::geteuid(), 0u) << "BPF tests need root";
    load(53, EGRESSD_DNS_MAX_CAPTURE, 256 * 1024);
  }
  void TearDown() override {
    if (ring_ != nullptr) ring_buffer__free(ring_);
  }
  void load(uint16_t port, uint32_t capture, uint32_t ring_bytes) {
    if (ring_ != nullptr) ring_buffer__free(ring_);
    ring_ = nullptr;
    skel_.reset();
    auto s = loader::Skeleton<::dns>::open("dns");
    ASSERT_TRUE(s) << s.error().message();
    (*s)->rodata->egressd_dns_port = port;
    (*s)->rodata->egressd_dns_capture = capture;
    ASSERT_EQ(bpf_map__set_max_entries((*s)->maps.egressd_dns_events, ring_bytes), 0);
    auto st = s->load();
    ASSERT_TRUE(st) << st.error().message();
    skel_.emplace(std::move(*s));
    ring_ = ring_buffer__new(
        bpf_map__fd((*skel_)->maps.egressd_dns_events),
        [](void* ctx, void* data, size_t size) -> int {
          auto* self = static_cast<DnsProgramTest*>(ctx);
          Record r;
          std::memcpy(&r.ev, data, sizeof(r.ev));
          EXPECT_GE(size, sizeof(r.ev) + r.ev.captured);
          const auto* p = static_cast<const uint8_t*>(data) + sizeof(r.ev);
          r.payload.assign(p, p + r.ev.captured);
          self->records_.push_back(std::move(r));
          return 0;
        },
        this, nullptr);
    ASSERT_NE(ring_, nullptr);
  }
  // Runs the program on `frame`; returns the records it produced.
  std::vector<Record> run(const std::vector<uint8_t>& frame) {
    records_.clear();
    auto r = loader::test_run(bpf_program__fd((*skel_)->progs.egressd_dns_ingress), frame);
    EXPECT_TRUE(r) << r.error().message();
    if (r) {
      EXPECT_EQ(r->retval, 1u) << "cgroup_skb must always pass the packet";
    }
    EXPECT_GE(ring_buffer__consume(ring_), 0);
    return std::move(records_);
  }
  uint64_t stat(uint32_t index) {
    const uint32_t key = 0;
    auto raw = loader::lookup_percpu(bpf_map__fd((*skel_)->maps.egressd_dns_stats), &key,
                                     sizeof(egressd_dns_stats));
    EXPECT_TRUE(raw);
    uint64_t sum = 0;
    for (size_t off = 0; raw && off + sizeof(egressd_dns_stats) <= raw->size();
         off += sizeof(egressd_dns_stats)) {
      egressd_dns_stats s;
      std::memcpy(&s, raw->data() + off, sizeof(s));
      sum += s.value[index];
    }
    return sum;
  }

  std::optional<loader::Skeleton<::dns>> skel_;
  ring_buffer* ring_ = nullptr;
  std::vector<Record> records_;
};

std::vector<uint8_t> udp4(uint16_t sport, uint16_t dport, const std::vector<uint8_t>& payload) {
  return PacketBuilder()
      .ethernet(0x0800)
      .ipv4(kServer4, kClient4, 17)
      .udp(sport, dport)
      .raw(payload)
      .finish();
}

TEST_F(DnsProgramTest, UdpResponseIPv4) {
  const auto msg = testing::dns_fixture("a_cname_chain3");
  const auto recs = run(udp4(53, 41000, msg));
  ASSERT_EQ(recs.size(), 1u);
  const auto& ev = recs[0].ev;
  EXPECT_EQ(IpAddr::from_v6_bytes(ev.saddr), kServer4);
  EXPECT_EQ(IpAddr::from_v6_bytes(ev.daddr), kClient4);
  EXPECT_EQ(ev.sport, 53);
  EXPECT_EQ(ev.dport, 41000);
  EXPECT_EQ(ev.proto, EGRESSD_DNS_PROTO_UDP);
  EXPECT_EQ(ev.payload_len, msg.size());
  EXPECT_EQ(recs[0].payload, msg);
  EXPECT_EQ(stat(EGRESSD_DNS_STAT_UDP), 1u);
}

TEST_F(DnsProgramTest, UdpResponseIPv6WithExtensionHeader) {
  const auto msg = testing::dns_fixture("aaaa_svc");
  const auto frame = PacketBuilder()
                         .ethernet(0x86dd)
                         .ipv6(kServer6, kClient6, 60)  // destination options, then UDP
                         .ipv6_ext(60, 17, 8)
                         .udp(53, 41000)
                         .raw(msg)
                         .finish();
  const auto recs = run(frame);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(IpAddr::from_v6_bytes(recs[0].ev.daddr), kClient6);
  EXPECT_EQ(recs[0].payload, msg);
}

TEST_F(DnsProgramTest, TcpSegmentsSynAndFin) {
  const auto msg = testing::dns_fixture("tcp_a_cname_chain3");
  const auto seg = PacketBuilder()
                       .ethernet(0x0800)
                       .ipv4(kServer4, kClient4, 6)
                       .tcp(53, 41000, 0x18)
                       .raw(msg)
                       .finish();
  auto recs = run(seg);
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].ev.proto, EGRESSD_DNS_PROTO_TCP);
  EXPECT_EQ(recs[0].ev.tcp_seq, 1u);
  EXPECT_EQ(recs[0].payload, msg);
  // SYN-ACK and FIN without payload: reported (they start and end streams); a bare ACK is not.
  EXPECT_EQ(
      run(PacketBuilder().ethernet(0x0800).ipv4(kServer4, kClient4, 6).tcp(53, 1, 0x12).finish())
          .size(),
      1u);
  EXPECT_EQ(
      run(PacketBuilder().ethernet(0x0800).ipv4(kServer4, kClient4, 6).tcp(53, 1, 0x11).finish())[0]
          .ev.tcp_flags,
      EGRESSD_DNS_TCP_FIN);
  EXPECT_TRUE(
      run(PacketBuilder().ethernet(0x0800).ipv4(kServer4, kClient4, 6).tcp(53, 1, 0x10).finish())
          .empty());
}

TEST_F(DnsProgramTest, OtherTrafficIsIgnored) {
  const auto msg = testing::dns_fixture("a_svc");
  EXPECT_TRUE(run(udp4(54, 53, msg)).empty());       // a query to the port, not a response
  EXPECT_TRUE(run(udp4(5353, 41000, msg)).empty());  // another port
  EXPECT_TRUE(run(PacketBuilder().ethernet(0x0800).ipv4(kServer4, kClient4, 1).icmp(0, 0).finish())
                  .empty());
  EXPECT_TRUE(run(PacketBuilder().ethernet(0x0806).payload(28).finish()).empty());  // ARP
  EXPECT_EQ(stat(EGRESSD_DNS_STAT_UDP), 0u);
}

TEST_F(DnsProgramTest, ConfiguredPort) {
  load(5353, EGRESSD_DNS_MAX_CAPTURE, 256 * 1024);
  const auto msg = testing::dns_fixture("a_svc");
  EXPECT_TRUE(run(udp4(53, 41000, msg)).empty());
  EXPECT_EQ(run(udp4(5353, 41000, msg)).size(), 1u);
}

TEST_F(DnsProgramTest, LongPayloadIsCutAndCounted) {
  load(53, 100, 256 * 1024);
  const auto msg = testing::dns_fixture("a_big_edns");
  const auto recs = run(udp4(53, 41000, msg));
  ASSERT_EQ(recs.size(), 1u);
  EXPECT_EQ(recs[0].ev.payload_len, msg.size());
  EXPECT_EQ(recs[0].ev.captured, 100u);
  EXPECT_EQ(recs[0].payload, std::vector<uint8_t>(msg.begin(), msg.begin() + 100));
  EXPECT_EQ(stat(EGRESSD_DNS_STAT_CUT), 1u);
  // The hard limit holds whatever the payload.
  load(53, EGRESSD_DNS_MAX_CAPTURE, 256 * 1024);
  std::vector<uint8_t> huge(3000, 0xab);  // test-run takes at most a page
  const auto big = run(udp4(53, 41000, huge));
  ASSERT_EQ(big.size(), 1u);
  EXPECT_EQ(big[0].ev.captured, EGRESSD_DNS_MAX_CAPTURE);
}

TEST_F(DnsProgramTest, MalformedUdpLengthIsCounted) {
  auto frame = udp4(53, 41000, testing::dns_fixture("a_svc"));
  frame[14 + 20 + 4] = 0xff;  // UDP length far past the IP datagram
  EXPECT_TRUE(run(frame).empty());
  EXPECT_EQ(stat(EGRESSD_DNS_STAT_MALFORMED), 1u);
}

TEST_F(DnsProgramTest, FullRingIsCountedNeverSilent) {
  load(53, EGRESSD_DNS_MAX_CAPTURE, 4096);  // one page
  const auto frame = udp4(53, 41000, std::vector<uint8_t>(1500, 0x11));
  auto r = loader::test_run(bpf_program__fd((*skel_)->progs.egressd_dns_ingress), frame, 10);
  ASSERT_TRUE(r);
  const uint64_t copied = stat(EGRESSD_DNS_STAT_UDP);
  const uint64_t lost = stat(EGRESSD_DNS_STAT_RING_FULL);
  EXPECT_EQ(copied + lost, 10u);
  EXPECT_GE(lost, 7u);
  records_.clear();
  EXPECT_GE(ring_buffer__consume(ring_), 0);
  EXPECT_EQ(records_.size(), copied);
}

// ---- the whole tracer, attached to a cgroup for real ----

TEST(DnsTracerAttached, UdpResponseToASocketNamesItsAddress) {
  ASSERT_EQ(::geteuid(), 0u);
  egressd::testing::ManualClock clock;
  SelfMetrics metrics;
  dns::NameCache cache(dns::NameCacheOptions{}, clock, metrics);
  dns::DnsTracerOptions options;  // attached where the agent attaches: the cgroup v2 root
  options.stats_interval = std::chrono::milliseconds(50);
  auto tracer = dns::DnsTracer::start(
      options, cache, [](const IpAddr& c) { return dns::scope_of(c, nullptr); }, metrics, clock);
  ASSERT_TRUE(tracer) << tracer.error().message();

  // A private network namespace with loopback only: a socket there receives a response from
  // port 53 on 127.0.0.1.
  const auto msg = testing::dns_fixture("a_cname_chain3");
  std::thread worker([&] {
    ASSERT_EQ(::unshare(CLONE_NEWNET), 0) << std::strerror(errno);
    ASSERT_EQ(std::system("ip link set lo up"), 0);
    const int server = ::socket(AF_INET, SOCK_DGRAM, 0);
    const int client = ::socket(AF_INET, SOCK_DGRAM, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sa.sin_port = htons(53);
    ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)), 0);
    sockaddr_in ca = sa;
    ca.sin_port = htons(41053);
    ASSERT_EQ(::bind(client, reinterpret_cast<sockaddr*>(&ca), sizeof(ca)), 0);
    ASSERT_EQ(
        ::sendto(server, msg.data(), msg.size(), 0, reinterpret_cast<sockaddr*>(&ca), sizeof(ca)),
        static_cast<ssize_t>(msg.size()));
    std::vector<uint8_t> buf(2048);
    EXPECT_EQ(::recv(client, buf.data(), buf.size(), 0), static_cast<ssize_t>(msg.size()));
    ::close(server);
    ::close(client);
  });
  worker.join();
  std::string name;
  const IpAddr loopback = IpAddr::parse("127.0.0.1").value();
  EXPECT_TRUE(egressd::testing::eventually([&] {
    return cache.lookup(dns::scope_of(loopback, nullptr), IpAddr::parse("203.0.113.10").value(),
                        name);
  })) << "the response never reached the cache";
  EXPECT_EQ(name, "www.example.com");
  const int prog_fd = (*tracer)->program_fd();
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  ASSERT_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
  const uint32_t id = info.id;
  (*tracer)->stop();
  tracer->reset();
  // Detached and unloaded: the program id is gone (links and object closed; the kernel may free
  // the program after an RCU grace period, so this polls).
  EXPECT_TRUE(egressd::testing::eventually([&] {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd >= 0) ::close(fd);
    return fd < 0;
  })) << "the DNS program is still loaded";
}

}  // namespace
}  // namespace egressd
