// The netfilter conntrack source against the real kernel (root).
//
// The test process moves into a private network namespace before main() (unshare(CLONE_NEWNET)):
// every address, nftables rule, conntrack entry and sysctl it sets lives there and vanishes with
// the process, also when a test fails or crashes. Traffic runs over lo with known payloads; the
// ground truth is nftables named counters on the same packets (output hook, one pass per packet
// on lo, the same skb->len conntrack accounts), read with `nft list counter`.
#include "conntrack/netfilter_source.h"

#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include "common/self_metrics_reader.h"
#include "common/wait.h"
#include "egressd/common/unique_fd.h"

extern char** environ;

namespace egressd::conntrack {
namespace {

using namespace std::chrono_literals;
using testing::counter_value;
using testing::gauge_value;
using Clock = std::chrono::steady_clock;

// Before main(): no thread exists yet, so the whole process (and its children) switches.
const int kUnshareErrno = unshare(CLONE_NEWNET) == 0 ? 0 : errno;

struct CommandResult {
  int status = -1;
  std::string out;
};

CommandResult run(const std::vector<std::string>& argv) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return {};
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(pipefd[1]);
  CommandResult r;
  if (rc != 0) {
    close(pipefd[0]);
    return r;
  }
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;) {
    r.out.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

void must(const std::vector<std::string>& argv) {
  const CommandResult r = run(argv);
  std::string cmd;
  for (const auto& a : argv) cmd += a + " ";
  ASSERT_EQ(r.status, 0) << cmd;
}

IpAddr ip(const char* text) {
  return *IpAddr::parse(text);
}

std::string errno_text(int err = errno) {
  return std::generic_category().message(err);
}

// Addresses on lo. Pods of "this node" and node addresses, per test so flows never collide.
constexpr const char* kT1Client = "10.0.1.1";   // pod
constexpr const char* kT1Server = "10.0.1.2";   // pod
constexpr const char* kT1Vip = "10.96.0.1";     // routed to lo, DNAT to kT1Server
constexpr const char* kT1Pod6 = "fd00:1::1";    // pod
constexpr const char* kT1Other6 = "fd00:1::2";  // not on this node's inventory
constexpr const char* kT2Server = "10.0.2.2";   // pod
constexpr const char* kT3Node = "127.0.0.3";    // node
constexpr const char* kT5Client = "10.0.5.1";   // pod
constexpr const char* kT5Server = "10.0.5.2";
constexpr const char* kTable = "egressd_it_ct";

std::shared_ptr<const LocalEndpoints> inventory() {
  return std::make_shared<const LocalEndpoints>(
      std::vector<IpAddr>{ip(kT1Client), ip(kT1Server), ip(kT1Pod6), ip(kT2Server), ip(kT5Client)},
      std::vector<IpAddr>{ip("127.0.0.1"), ip(kT3Node), ip("::1")});
}

class RecordingSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    {
      std::lock_guard lock(mu_);
      batches_.push_back(std::move(batch));
    }
    cv_.notify_all();
    return true;
  }
  // Waits until `pred(batches)` holds; false on timeout.
  bool wait(const std::function<bool(const std::vector<RecordBatch>&)>& pred,
            std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return pred(batches_); });
  }
  std::vector<RecordBatch> batches() {
    std::lock_guard lock(mu_);
    return batches_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<RecordBatch> batches_;
};

bool has_complete(const std::vector<RecordBatch>& batches, uint64_t generation) {
  for (const auto& b : batches) {
    if (b.kind == RecordBatch::Kind::kReadComplete && b.read_generation == generation) return true;
  }
  return false;
}

uint64_t last_complete(const std::vector<RecordBatch>& batches) {
  uint64_t g = 0;
  for (const auto& b : batches) {
    if (b.kind == RecordBatch::Kind::kReadComplete) g = std::max(g, b.read_generation);
  }
  return g;
}

std::vector<FlowRecord> records_of(const std::vector<RecordBatch>& batches, const FlowKey& key,
                                   std::optional<uint64_t> generation, bool final_only = false) {
  std::vector<FlowRecord> out;
  for (const auto& b : batches) {
    if (b.kind != RecordBatch::Kind::kRecords) continue;
    if (generation && b.read_generation != *generation) continue;
    for (const auto& r : b.records) {
      if (r.key == key && (!final_only || r.final)) out.push_back(r);
    }
  }
  return out;
}

// A named nftables counter on the output hook for packets matching `match`.
struct NftCounter {
  std::string name;
  static NftCounter add(const std::string& name, const std::string& match) {
    must({"nft", "add", "counter", "inet", kTable, name});
    std::vector<std::string> argv = {"nft", "add", "rule", "inet", kTable, "out"};
    std::istringstream words(match);
    for (std::string w; words >> w;) argv.push_back(w);
    argv.insert(argv.end(), {"counter", "name", name});
    must(argv);
    return {name};
  }
  // {packets, bytes}
  [[nodiscard]] std::pair<uint64_t, uint64_t> read() const {
    const CommandResult r = run({"nft", "list", "counter", "inet", kTable, name});
    std::smatch m;
    static const std::regex re(R"(packets (\d+) bytes (\d+))");
    if (r.status != 0 || !std::regex_search(r.out, m, re)) return {0, 0};
    return {std::stoull(m[1]), std::stoull(m[2])};
  }
};

// {tx_bytes, tx_packets, rx_bytes, rx_packets} from the local side's point of view.
Counters truth(const NftCounter& tx, const NftCounter& rx) {
  const auto [txp, txb] = tx.read();
  const auto [rxp, rxb] = rx.read();
  return Counters{txb, txp, rxb, rxp};
}

// Waits until every TCP entry that `conntrack -L -p tcp <filter>` lists is in TIME_WAIT (and at
// least one is listed): conntrack enters TIME_WAIT on the last ACK of the close, so every packet
// of those connections has passed the output hook, where the nftables counters count it (that
// packet's traversal of the hooks ran to its end in softirq context before `conntrack -L` could
// read the state). This is the condition the counters are read after, not a fixed settle time.
bool wait_for_time_wait(const std::vector<std::string>& filter) {
  std::vector<std::string> argv = {"conntrack", "-L", "-p", "tcp"};
  argv.insert(argv.end(), filter.begin(), filter.end());
  return testing::eventually([&] {
    const CommandResult r = run(argv);
    if (r.status != 0) return false;
    std::istringstream lines(r.out);
    size_t entries = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.rfind("tcp", 0) != 0) continue;
      if (line.find(" TIME_WAIT ") == std::string::npos) return false;
      ++entries;
    }
    return entries > 0;
  });
}

sockaddr_storage sockaddr_of(const char* addr, uint16_t port, socklen_t& len) {
  sockaddr_storage ss{};
  if (std::strchr(addr, ':') != nullptr) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    inet_pton(AF_INET6, addr, &a->sin6_addr);
    len = sizeof(sockaddr_in6);
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    inet_pton(AF_INET, addr, &a->sin_addr);
    len = sizeof(sockaddr_in);
  }
  return ss;
}

uint16_t bound_port(int fd) {
  sockaddr_storage ss{};
  socklen_t len = sizeof(ss);
  getsockname(fd, reinterpret_cast<sockaddr*>(&ss), &len);
  return ntohs(ss.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&ss)->sin_port
                                       : reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port);
}

// A listening TCP socket on `addr`, port 0 (the kernel picks).
struct TcpServer {
  UniqueFd fd;
  uint16_t port;
  explicit TcpServer(const char* addr)
      : fd(socket(std::strchr(addr, ':') ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {
    socklen_t len = 0;
    const auto sa = sockaddr_of(addr, 0, len);
    port = 0;
    if (!fd.valid()) {
      ADD_FAILURE() << "socket: " << errno_text();
      return;
    }
    EXPECT_EQ(bind(fd.get(), reinterpret_cast<const sockaddr*>(&sa), len), 0) << errno_text();
    EXPECT_EQ(listen(fd.get(), 4), 0);
    port = bound_port(fd.get());
  }
};

bool send_all(int fd, size_t n) {
  std::vector<char> buf(n, 'x');
  for (size_t off = 0; off < n;) {
    const ssize_t w = send(fd, buf.data() + off, n - off, MSG_NOSIGNAL);
    if (w <= 0) return false;
    off += static_cast<size_t>(w);
  }
  return true;
}

bool recv_all(int fd, size_t n) {
  std::vector<char> buf(65536);
  for (size_t got = 0; got < n;) {
    const ssize_t r = recv(fd, buf.data(), std::min(buf.size(), n - got), 0);
    if (r <= 0) return false;
    got += static_cast<size_t>(r);
  }
  return true;
}

// One TCP connection from `client` to `dst:dport`, accepted on `server`: the client sends `up`
// bytes, the server `down` bytes, then both close (the entry goes to TIME_WAIT).
void tcp_exchange(TcpServer& server, const char* client, const char* dst, uint16_t dport, size_t up,
                  size_t down) {
  UniqueFd cli(
      socket(std::strchr(client, ':') ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(cli.get(), 0) << errno_text();
  socklen_t len = 0;
  const auto from = sockaddr_of(client, 0, len);
  ASSERT_EQ(bind(cli.get(), reinterpret_cast<const sockaddr*>(&from), len), 0) << errno_text();
  const auto to = sockaddr_of(dst, dport, len);
  ASSERT_EQ(connect(cli.get(), reinterpret_cast<const sockaddr*>(&to), len), 0) << errno_text();
  UniqueFd acc(accept4(server.fd.get(), nullptr, nullptr, SOCK_CLOEXEC));
  ASSERT_GE(acc.get(), 0);
  // A peer that fails leaves the other side waiting: 30 s timeouts turn that into a failure, not a
  // hang until CTest's timeout.
  const timeval timeout{30, 0};
  for (const int fd : {cli.get(), acc.get()}) {
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout)), 0);
    ASSERT_EQ(setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout)), 0);
  }
  bool server_ok = false;
  std::thread server_side(
      [&] { server_ok = recv_all(acc.get(), up) && send_all(acc.get(), down); });
  const bool client_ok = send_all(cli.get(), up) && recv_all(cli.get(), down);
  server_side.join();
  ASSERT_TRUE(client_ok);
  ASSERT_TRUE(server_ok);
  shutdown(cli.get(), SHUT_WR);
  char c;
  EXPECT_EQ(recv(acc.get(), &c, 1, 0), 0);  // the client's FIN
}

// UDP: `count` datagrams of `size` bytes from client to server, each answered with `reply` bytes.
void udp_exchange(const char* client, const char* server, int count, size_t size, size_t reply) {
  const int family = std::strchr(server, ':') ? AF_INET6 : AF_INET;
  UniqueFd srv(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  UniqueFd cli(socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  ASSERT_GE(srv.get(), 0) << errno_text();
  ASSERT_GE(cli.get(), 0) << errno_text();
  socklen_t len = 0;
  auto sa = sockaddr_of(server, 0, len);
  ASSERT_EQ(bind(srv.get(), reinterpret_cast<const sockaddr*>(&sa), len), 0) << errno_text();
  sa = sockaddr_of(server, bound_port(srv.get()), len);
  const auto ca = sockaddr_of(client, 0, len);
  ASSERT_EQ(bind(cli.get(), reinterpret_cast<const sockaddr*>(&ca), len), 0) << errno_text();
  std::vector<char> buf(std::max(size, reply) + 1, 'u');
  for (int i = 0; i < count; ++i) {
    ASSERT_EQ(sendto(cli.get(), buf.data(), size, 0, reinterpret_cast<const sockaddr*>(&sa), len),
              static_cast<ssize_t>(size));
    sockaddr_storage from{};
    socklen_t from_len = sizeof(from);
    ASSERT_EQ(recvfrom(srv.get(), buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from),
                       &from_len),
              static_cast<ssize_t>(size));
    ASSERT_EQ(sendto(srv.get(), buf.data(), reply, 0, reinterpret_cast<sockaddr*>(&from), from_len),
              static_cast<ssize_t>(reply));
    ASSERT_EQ(recv(cli.get(), buf.data(), buf.size(), 0), static_cast<ssize_t>(reply));
  }
}

class NetfilterSourceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(kUnshareErrno, 0) << "unshare(CLONE_NEWNET): " << errno_text(kUnshareErrno)
                                << " (integration tests run as root)";
    must({"ip", "link", "set", "lo", "up"});
    for (const char* a : {kT1Client, kT1Server, kT2Server, kT5Client, kT5Server}) {
      must({"ip", "addr", "add", std::string(a) + "/32", "dev", "lo"});
    }
    for (const char* a : {kT1Pod6, kT1Other6}) {
      must({"ip", "-6", "addr", "add", std::string(a) + "/128", "dev", "lo", "nodad"});
    }
    must({"ip", "route", "add", std::string(kT1Vip) + "/32", "dev", "lo"});
    ASSERT_TRUE(enable_accounting().has_value());
    const auto acct = accounting_enabled();
    ASSERT_TRUE(acct.has_value());
    ASSERT_TRUE(*acct);
    // Conntrack tracks a namespace's traffic only once a ct or NAT rule exists there.
    must({"nft", "add", "table", "inet", kTable});
    must({"nft", "add", "chain", "inet", kTable, "out", "{ type filter hook output priority 0; }"});
    must({"nft", "add", "chain", "inet", kTable, "nat_out",
          "{ type nat hook output priority -100; }"});
    must({"nft", "add", "rule", "inet", kTable, "out", "ct", "state", "new", "counter"});
  }

  static void TearDownTestSuite() {
    // The namespace goes away with the process; leave it tidy anyway.
    (void)run({"nft", "delete", "table", "inet", kTable});
  }

  void SetUp() override { view_.set(inventory()); }

  std::unique_ptr<Source> make(std::chrono::milliseconds interval, size_t rcvbuf = 8 << 20) {
    NetfilterSourceOptions options;
    options.read_interval = interval;
    options.batch_records = 64;
    options.event_rcvbuf_bytes = rcvbuf;
    auto source = make_netfilter_source(options, view_, sink_, metrics_);
    EXPECT_TRUE(source.has_value()) << source.error().message();
    return source ? std::move(*source) : nullptr;
  }

  LocalEndpointsView view_;
  RecordingSink sink_;
  SelfMetrics metrics_;
};

TEST_F(NetfilterSourceTest, DumpOrientsRecordsAndCountsMatchNftables) {
  TcpServer node_to_pod(kT1Server);
  TcpServer via_vip(kT1Server);
  const std::string p1 = std::to_string(node_to_pod.port);
  const std::string p2 = std::to_string(via_vip.port);
  must({"nft", "add", "rule", "inet", kTable, "nat_out", "ip", "daddr", kT1Vip, "tcp", "dport",
        "80", "dnat", "ip", "to", std::string(kT1Server) + ":" + p2});
  // Ground truth, after DNAT (output filter runs after nat output): per direction of each flow.
  const auto n1_up = NftCounter::add("t1_node_up", "ip saddr 127.0.0.1 tcp dport " + p1);
  const auto n1_down = NftCounter::add("t1_node_down", "ip daddr 127.0.0.1 tcp sport " + p1);
  const auto n2_up =
      NftCounter::add("t1_vip_up", std::string("ip saddr ") + kT1Client + " ip daddr " + kT1Server +
                                       " tcp dport " + p2);
  const auto n2_down =
      NftCounter::add("t1_vip_down", std::string("ip saddr ") + kT1Server + " tcp sport " + p2);
  const auto n3_up =
      NftCounter::add("t1_v6_up", std::string("ip6 saddr ") + kT1Pod6 + " ip6 daddr " + kT1Other6 +
                                      " meta l4proto udp");
  const auto n3_down =
      NftCounter::add("t1_v6_down", std::string("ip6 saddr ") + kT1Other6 + " ip6 daddr " +
                                        kT1Pod6 + " meta l4proto udp");

  auto source = make(200ms);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->start().has_value());

  // Node -> pod; pod A -> ClusterIP -> pod B (same node); pod (IPv6) -> elsewhere over UDP.
  tcp_exchange(node_to_pod, "127.0.0.1", kT1Server, node_to_pod.port, 30'000, 70'000);
  tcp_exchange(via_vip, kT1Client, kT1Vip, 80, 12'345, 54'321);
  udp_exchange(kT1Pod6, kT1Other6, 5, 300, 1200);
  ASSERT_TRUE(wait_for_time_wait({"-d", kT1Server, "--dport", p1}));
  ASSERT_TRUE(wait_for_time_wait({"-s", kT1Client, "-d", kT1Vip, "--dport", "80"}));
  const Counters node_side_truth = truth(n1_down, n1_up);  // the pod is the responder
  const Counters a_truth = truth(n2_up, n2_down);
  const Counters b_truth = truth(n2_down, n2_up);
  const Counters v6_truth = truth(n3_up, n3_down);
  ASSERT_GT(node_side_truth.rx_bytes, 30'000U);
  ASSERT_GT(a_truth.tx_bytes, 12'345U);
  ASSERT_EQ(v6_truth.tx_packets, 5U);

  // A dump that started after the traffic: two completions after the last one seen now.
  const uint64_t target = last_complete(sink_.batches()) + 2;
  ASSERT_TRUE(sink_.wait([&](const auto& b) { return has_complete(b, target); }, 30s));
  const auto batches = sink_.batches();

  const auto pod_side = records_of(batches, {ip(kT1Server), ip("127.0.0.1"), 6}, target);
  ASSERT_EQ(pod_side.size(), 1U) << "node -> pod is reported once, by the pod";
  EXPECT_EQ(pod_side[0].counters, node_side_truth);
  EXPECT_FALSE(pod_side[0].final);
  EXPECT_TRUE(records_of(batches, {ip("127.0.0.1"), ip(kT1Server), 6}, target).empty());

  const auto a = records_of(batches, {ip(kT1Client), ip(kT1Server), 6}, target);
  const auto b = records_of(batches, {ip(kT1Server), ip(kT1Client), 6}, target);
  ASSERT_EQ(a.size(), 1U) << "the peer is the backend, not the VIP";
  ASSERT_EQ(b.size(), 1U);
  EXPECT_EQ(a[0].counters, a_truth);
  EXPECT_EQ(b[0].counters, b_truth);
  EXPECT_NE(a[0].entry_id, b[0].entry_id);
  EXPECT_TRUE(records_of(batches, {ip(kT1Client), ip(kT1Vip), 6}, std::nullopt).empty());

  const auto v6 = records_of(batches, {ip(kT1Pod6), ip(kT1Other6), 17}, target);
  ASSERT_EQ(v6.size(), 1U);
  EXPECT_EQ(v6[0].counters, v6_truth);
  EXPECT_EQ(v6[0].counters.tx_bytes, 5U * (300 + 48));  // IPv6 40 + UDP 8 bytes of headers

  source->stop();
  EXPECT_GE(counter_value(metrics_, "egressd_conntrack_dumps_total"), target);
  EXPECT_GE(gauge_value(metrics_, "egressd_conntrack_entries"), 3.0);
  EXPECT_EQ(gauge_value(metrics_, "egressd_conntrack_accounting_enabled"), 1.0);
  EXPECT_EQ(counter_value(metrics_, "egressd_records_dropped_total", {{"reason", "parse_error"}}),
            0U);
  EXPECT_EQ(counter_value(metrics_, "egressd_conntrack_dump_errors_total"), 0U);
}

TEST_F(NetfilterSourceTest, FlowClosedBetweenDumpsArrivesAsFinalRecord) {
  TcpServer server(kT2Server);
  const std::string port = std::to_string(server.port);
  const auto up = NftCounter::add("t2_up", "ip saddr 127.0.0.1 tcp dport " + port);
  const auto down = NftCounter::add("t2_down", "ip daddr 127.0.0.1 tcp sport " + port);

  // One dump at start, the next a minute later: only the destroy event can report this flow.
  auto source = make(60s);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->start().has_value());
  ASSERT_TRUE(sink_.wait([](const auto& b) { return has_complete(b, 1); }, 30s));

  tcp_exchange(server, "127.0.0.1", kT2Server, server.port, 4'000, 9'000);
  ASSERT_TRUE(wait_for_time_wait({"-d", kT2Server, "--dport", port}));
  const Counters expected = truth(down, up);  // the pod (server) is local: tx = its replies
  must({"conntrack", "-D", "-p", "tcp", "-s", "127.0.0.1", "-d", kT2Server, "--dport", port});

  const FlowKey key{ip(kT2Server), ip("127.0.0.1"), 6};
  ASSERT_TRUE(sink_.wait([&](const auto& b) { return !records_of(b, key, 2, true).empty(); }, 30s))
      << "no final record for the deleted entry";
  const auto batches = sink_.batches();
  const auto finals = records_of(batches, key, std::nullopt, true);
  ASSERT_EQ(finals.size(), 1U);
  EXPECT_EQ(finals[0].counters, expected);
  EXPECT_EQ(finals[0].mode, CounterMode::kCumulative);
  EXPECT_FALSE(has_complete(batches, 2)) << "a second dump ran: the test proves nothing";
  EXPECT_TRUE(records_of(batches, key, 1).empty()) << "the flow started after dump 1";
  EXPECT_GE(counter_value(metrics_, "egressd_conntrack_events_total", {{"type", "destroy"}}), 1U);
  source->stop();
}

TEST_F(NetfilterSourceTest, BurstOfDestroyEventsIsNotLost) {
  constexpr int kFlows = 3000;
  // A deliberately small receive buffer (a few dozen events): with reliable delivery the kernel
  // keeps what it could not deliver and retries, so nothing is lost.
  auto source = make(60s, size_t{64} * 1024);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->start().has_value());
  ASSERT_TRUE(sink_.wait([](const auto& b) { return has_complete(b, 1); }, 30s));

  UniqueFd sender(socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  socklen_t len = 0;
  const auto from = sockaddr_of(kT3Node, 0, len);
  ASSERT_EQ(bind(sender.get(), reinterpret_cast<const sockaddr*>(&from), len), 0);
  char byte = 'b';
  for (int i = 0; i < kFlows; ++i) {
    const auto to = sockaddr_of(kT3Node, static_cast<uint16_t>(20000 + i), len);
    ASSERT_EQ(sendto(sender.get(), &byte, 1, 0, reinterpret_cast<const sockaddr*>(&to), len), 1);
  }
  must({"conntrack", "-D", "-p", "udp", "-s", kT3Node});

  const FlowKey key{ip(kT3Node), ip(kT3Node), 17};
  ASSERT_TRUE(sink_.wait(
      [&](const auto& b) { return records_of(b, key, std::nullopt, true).size() >= kFlows; }, 60s))
      << "final records: " << records_of(sink_.batches(), key, std::nullopt, true).size();
  const auto finals = records_of(sink_.batches(), key, std::nullopt, true);
  EXPECT_EQ(finals.size(), static_cast<size_t>(kFlows));
  std::set<uint64_t> ids;
  for (const auto& r : finals) {
    ids.insert(r.entry_id);
    EXPECT_EQ(r.counters.tx_packets, 1U);
    EXPECT_EQ(r.counters.tx_bytes, 29U);  // IPv4 20 + UDP 8 + 1 byte
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kFlows));
  EXPECT_EQ(counter_value(metrics_, "egressd_conntrack_event_overflows_total"), 0U);
  source->stop();
}

TEST_F(NetfilterSourceTest, AccountingOffGivesNoZeros) {
  {
    std::ofstream acct("/proc/sys/net/netfilter/nf_conntrack_acct");
    acct << "0\n";
    acct.close();
    ASSERT_TRUE(acct.good()) << "writing nf_conntrack_acct";
  }
  struct Restore {
    ~Restore() { EXPECT_TRUE(enable_accounting().has_value()); }
  } restore;
  ASSERT_FALSE(*accounting_enabled());
  udp_exchange(kT5Client, kT5Server, 2, 100, 100);  // entry created without counters

  auto source = make(200ms);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->start().has_value());
  ASSERT_TRUE(sink_.wait([](const auto& b) { return has_complete(b, 2); }, 30s));
  source->stop();
  EXPECT_TRUE(
      records_of(sink_.batches(), {ip(kT5Client), ip(kT5Server), 17}, std::nullopt).empty());
  EXPECT_GE(counter_value(metrics_, "egressd_records_dropped_total", {{"reason", "no_counters"}}),
            2U);  // the entry, once per dump
  EXPECT_EQ(gauge_value(metrics_, "egressd_conntrack_accounting_enabled"), 0.0);
}

// stop() wakes the source's thread instead of waiting out its read interval; a restart dumps the
// next generation and then sleeps until an event or its deadline: a stale wake-up (the eventfd
// left readable by stop) would make poll() return at once, over and over.
TEST_F(NetfilterSourceTest, StopIsPromptIdempotentAndRestartable) {
  constexpr auto kInterval = 600s;  // no deadline passes during the test
  auto source = make(kInterval);
  ASSERT_NE(source, nullptr);
  ASSERT_TRUE(source->start().has_value());
  EXPECT_FALSE(source->start().has_value()) << "a second start must fail";
  ASSERT_TRUE(sink_.wait([](const auto& b) { return has_complete(b, 1); }, 30s));
  const auto t0 = Clock::now();
  source->stop();
  // Not a speed budget: without the wake-up, stop() would wait for the 600 s deadline.
  EXPECT_LT(Clock::now() - t0, kInterval / 2) << "stop() waited for the read deadline";
  source->stop();
  ASSERT_TRUE(source->start().has_value());
  ASSERT_TRUE(sink_.wait([](const auto& b) { return has_complete(b, 2); }, 30s));

  // One destroy event after the restart: the thread wakes for it (one or a few times: the
  // kernel may deliver it while the thread is between polls), and otherwise only for other
  // destroy events — entries of earlier tests in this namespace expiring meanwhile (UDP after
  // 30 s, TIME_WAIT after 120 s), more of them on a slower run — each counted by
  // egressd_conntrack_events_total. A thread that spins on a stale wake-up counts thousands of
  // wake-ups while `conntrack -D` runs.
  const auto destroy_events = [&] {
    return counter_value(metrics_, "egressd_conntrack_events_total", {{"type", "destroy"}});
  };
  const uint64_t events_before = destroy_events();
  const uint64_t before = counter_value(metrics_, "egressd_conntrack_source_wakeups_total");
  udp_exchange(kT5Client, kT5Server, 1, 10, 10);
  must({"conntrack", "-D", "-p", "udp", "-s", kT5Client, "-d", kT5Server});
  const FlowKey key{ip(kT5Client), ip(kT5Server), 17};
  ASSERT_TRUE(sink_.wait(
      [&](const auto& b) { return !records_of(b, key, std::nullopt, true).empty(); }, 30s))
      << "no final record for the deleted entry";
  const uint64_t wakeups =
      counter_value(metrics_, "egressd_conntrack_source_wakeups_total") - before;
  const uint64_t events = destroy_events() - events_before;
  EXPECT_GE(wakeups, 1U);
  EXPECT_LE(wakeups, events + 2) << "the idle source keeps waking up (" << events
                                 << " destroy events)";
  EXPECT_EQ(counter_value(metrics_, "egressd_conntrack_dumps_total"), 2U);
  source->stop();
}

}  // namespace
}  // namespace egressd::conntrack
