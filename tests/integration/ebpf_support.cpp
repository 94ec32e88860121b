#include "ebpf_support.h"

#include <poll.h>
#include <unistd.h>

#include <bpf/bpf.h>

#include <atomic>
#include <cstring>
#include <exception>
#include <fstream>
#include <sstream>
#include <thread>

#include <arpa/inet.h>
#include <fmt/format.h>
#include <net/if.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/ip_icmp.h>
#include <sys/socket.h>

#include "harness/agent.h"
#include "harness/cluster.h"
#include "harness/http.h"
#include "harness/inet.h"
#include "harness/netns.h"
#include "harness/util.h"
#include "loader/links.h"

namespace egressd::testing {
namespace {

using namespace std::chrono_literals;

// Bounds every blocking send, receive and connect on `fd`: a stalled peer makes the call fail
// (counted by the caller) instead of hanging the test.
void set_io_timeouts(int fd, time_t seconds) {
  const timeval tv{seconds, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));  // connect() honours it too
}

UniqueFd raw_socket(const std::string& netns, int family, int proto) {
  const int fd = in_netns(netns, [&] { return ::socket(family, SOCK_RAW | SOCK_CLOEXEC, proto); });
  if (fd < 0) throw_errno("raw socket in " + netns);
  UniqueFd sock(fd);
  set_io_timeouts(sock.get(), 2);
  return sock;
}

uint16_t checksum(const uint8_t* p, size_t n) {
  uint32_t sum = 0;
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) sum += static_cast<uint32_t>(p[n - 1] << 8);
  while (sum >> 16 != 0) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

int ping(const std::string& from, const std::string& dst, int count, size_t payload) {
  const int family = family_of(dst);
  const bool v6 = family == AF_INET6;
  UniqueFd sock = raw_socket(from, family, v6 ? int{IPPROTO_ICMPV6} : int{IPPROTO_ICMP});
  const SockAddr to = make_sockaddr(dst, 0);
  const uint16_t id = static_cast<uint16_t>(::getpid());
  int replies = 0;
  for (int seq = 1; seq <= count; ++seq) {
    std::vector<uint8_t> msg(8 + payload, 0x5a);
    msg[0] = v6 ? 128 : 8;  // echo request
    msg[1] = 0;
    msg[2] = msg[3] = 0;
    msg[4] = static_cast<uint8_t>(id >> 8);
    msg[5] = static_cast<uint8_t>(id);
    msg[6] = static_cast<uint8_t>(seq >> 8);
    msg[7] = static_cast<uint8_t>(seq);
    if (!v6) {  // the kernel computes ICMPv6 checksums of raw sockets itself (RFC 3542 §3.1)
      const uint16_t c = checksum(msg.data(), msg.size());
      msg[2] = static_cast<uint8_t>(c >> 8);
      msg[3] = static_cast<uint8_t>(c);
    }
    if (::sendto(sock.get(), msg.data(), msg.size(), 0, to.get(), to.len) < 0) {
      throw_errno("sending an echo request to " + dst);
    }
    const auto deadline = std::chrono::steady_clock::now() + 2s;
    while (std::chrono::steady_clock::now() < deadline) {
      std::array<uint8_t, 2048> buf{};
      const ssize_t n = ::recv(sock.get(), buf.data(), buf.size(), 0);
      if (n <= 0) break;
      // IPv4 raw sockets see the IP header; ICMPv6 ones only the message.
      const size_t off = v6 ? 0 : static_cast<size_t>(buf[0] & 0xf) * 4;
      if (static_cast<size_t>(n) < off + 8) continue;
      const uint8_t* icmp = buf.data() + off;
      const bool reply = icmp[0] == (v6 ? 129 : 0);
      if (reply && (icmp[4] << 8 | icmp[5]) == id && (icmp[6] << 8 | icmp[7]) == seq) {
        ++replies;
        break;
      }
    }
  }
  return replies;
}

int raw_exchange(const std::string& from, const std::string& to_ns, const std::string& dst,
                 uint8_t proto, int count, size_t payload, size_t reply) {
  const int family = family_of(dst);
  UniqueFd server = raw_socket(to_ns, family, proto);
  UniqueFd client = raw_socket(from, family, proto);
  std::thread responder([&] {
    for (int i = 0; i < count; ++i) {
      std::array<uint8_t, 2048> buf{};
      SockAddr peer;
      peer.len = sizeof(peer.storage);
      if (::recvfrom(server.get(), buf.data(), buf.size(), 0, peer.get(), &peer.len) <= 0) return;
      const std::vector<uint8_t> answer(reply, 0xa5);
      (void)::sendto(server.get(), answer.data(), answer.size(), 0, peer.get(), peer.len);
    }
  });
  const SockAddr to = make_sockaddr(dst, 0);
  int answers = 0;
  for (int i = 0; i < count; ++i) {
    const std::vector<uint8_t> msg(payload, 0x3c);
    if (::sendto(client.get(), msg.data(), msg.size(), 0, to.get(), to.len) < 0) break;
    std::array<uint8_t, 2048> buf{};
    if (::recv(client.get(), buf.data(), buf.size(), 0) > 0) ++answers;
  }
  responder.join();
  return answers;
}

ChurnResult churn(const std::string& client_ns, const std::string& server_ns,
                  const std::string& server_ip, const std::string& dial_ip, uint16_t port,
                  int threads, const std::atomic<bool>& stop_clients, uint64_t min_per_thread,
                  size_t up, size_t down, std::atomic<uint64_t>* completed) {
  const int family = family_of(server_ip);
  // Non-blocking: the server threads share the listener, and both wake for one pending
  // connection; with a blocking listener the loser would sit in accept() after the last client
  // and never see `stop` (this hung a CI run for its whole 240 s budget).
  UniqueFd listener = socket_in_netns(server_ns, family, SOCK_STREAM | SOCK_NONBLOCK);
  const int one = 1;
  ::setsockopt(listener.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  const SockAddr addr = make_sockaddr(server_ip, port);
  if (::bind(listener.get(), addr.get(), addr.len) != 0) throw_errno("binding the churn server");
  if (::listen(listener.get(), 4096) != 0) throw_errno("listen");

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> failures{0};
  std::vector<std::thread> servers;
  for (int t = 0; t < threads; ++t) {
    servers.emplace_back([&] {
      std::vector<uint8_t> buf(64 * 1024);
      const std::vector<uint8_t> answer(down, 0x77);
      while (!stop) {
        pollfd p{listener.get(), POLLIN, 0};
        if (::poll(&p, 1, 50) <= 0) continue;
        UniqueFd conn(::accept4(listener.get(), nullptr, nullptr, SOCK_CLOEXEC));
        if (!conn.valid()) continue;  // EAGAIN: the other server thread took it
        set_io_timeouts(conn.get(), 10);
        size_t got = 0;
        for (;;) {
          const ssize_t n = ::recv(conn.get(), buf.data(), buf.size(), 0);
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
        size_t sent = 0;
        while (sent < answer.size()) {
          const ssize_t n =
              ::send(conn.get(), answer.data() + sent, answer.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
        if (got != up || sent != down) ++failures;
        ++served;
      }
    });
  }

  const SockAddr dial = make_sockaddr(dial_ip, port);
  std::atomic<uint64_t> done{0};
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> clients;
  std::vector<std::exception_ptr> errors(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) {
    clients.emplace_back([&, t] {
      try {
        enter_netns(client_ns);  // throws HarnessError: kept for the caller, not std::terminate
      } catch (...) {
        errors[static_cast<size_t>(t)] = std::current_exception();
        return;
      }
      std::vector<uint8_t> buf(64 * 1024);
      const std::vector<uint8_t> request(up, 0x11);
      uint64_t mine = 0;
      while (!stop_clients.load() || mine < min_per_thread) {
        UniqueFd s(::socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0));
        if (!s.valid()) {
          ++failures;
          continue;
        }
        set_io_timeouts(s.get(), 10);
        if (::connect(s.get(), dial.get(), dial.len) != 0) {
          ++failures;
          continue;
        }
        size_t sent = 0;
        while (sent < request.size()) {
          const ssize_t n =
              ::send(s.get(), request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
          if (n <= 0) break;
          sent += static_cast<size_t>(n);
        }
        ::shutdown(s.get(), SHUT_WR);
        size_t got = 0;
        for (;;) {
          const ssize_t n = ::recv(s.get(), buf.data(), buf.size(), 0);
          if (n <= 0) break;
          got += static_cast<size_t>(n);
        }
        ++mine;
        if (sent == up && got == down) {
          ++done;
          if (completed != nullptr) ++*completed;
        } else {
          ++failures;
        }
      }
    });
  }
  for (auto& c : clients) c.join();
  const auto took = std::chrono::steady_clock::now() - start;
  // Every connection the clients finished has been served: the server wrote before closing.
  if (!poll_until([&] { return served.load() >= done.load(); }, 30s, 10ms)) {
    failures += done.load() - served.load();
  }
  stop = true;
  for (auto& s : servers) s.join();
  for (const auto& e : errors) {
    if (e) std::rethrow_exception(e);
  }
  return ChurnResult{done.load(), failures.load(), took};
}

std::string RawAgent::log() const {
  std::ifstream in(log_path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<Sample> RawAgent::metrics(const std::string& netns) const {
  const HttpResponse r = http_get(netns, "127.0.0.1", port, "/metrics");
  if (r.status != 200) return {};
  return parse_prometheus_text(r.body);
}

RawAgent start_raw_agent(const Topology& topo, const std::filesystem::path& workdir,
                         const std::vector<std::string>& prefix,
                         const std::vector<std::string>& args, bool expect_exit) {
  const auto inventory = workdir / "inventory.json";
  std::ofstream(inventory) << cluster::inventory_json();
  const uint16_t port = free_tcp_port(topo.node(), "127.0.0.1");
  std::vector<std::string> argv = prefix;
  for (const auto& a : std::vector<std::string>{
           agent_binary().string(), "--inventory", inventory.string(), "--node-name",
           std::string(cluster::kAgentNode), "--read-interval", "1000ms", "--http-listen-address",
           "127.0.0.1", "--http-listen-port", std::to_string(port), "--log-level", "debug",
           "--exclude-namespaces", ""}) {
    argv.push_back(a);
  }
  argv.insert(argv.end(), args.begin(), args.end());
  const auto log_path = workdir / fmt::format("raw-agent-{}.log", port);
  RawAgent agent{ChildProcess::start(argv, topo.node(), log_path), port, log_path};
  if (expect_exit) {
    poll_until([&] { return agent.process.exited(); }, 10s, 20ms);
    return agent;
  }
  const bool ready = poll_until(
      [&] {
        return agent.process.exited() ||
               http_get(topo.node(), "127.0.0.1", port, "/readyz").status == 200;
      },
      15s, 20ms);
  if (!ready || agent.process.exited()) {
    throw HarnessError(fmt::format("raw agent not ready ({}):\n{}", agent.process.status_text(),
                                   tail_lines(agent.log(), 40)));
  }
  return agent;
}

std::map<std::string, std::vector<uint32_t>> tcx_egress_programs(const std::string& netns) {
  return in_netns(netns, [] {
    std::map<std::string, std::vector<uint32_t>> out;
    struct if_nameindex* names = ::if_nameindex();
    if (names == nullptr) throw_errno("if_nameindex");
    for (const struct if_nameindex* n = names; n->if_index != 0; ++n) {
      auto ids = loader::tcx_query(static_cast<int>(n->if_index), loader::TcxDirection::kEgress);
      out[n->if_name] = ids ? *ids : std::vector<uint32_t>{};
    }
    ::if_freenameindex(names);
    return out;
  });
}

std::set<uint32_t> programs_named(const std::string& prefix) {
  std::set<uint32_t> ids;
  uint32_t id = 0;
  while (bpf_prog_get_next_id(id, &id) == 0) {
    const int fd = bpf_prog_get_fd_by_id(id);
    if (fd < 0) continue;
    bpf_prog_info info{};
    uint32_t len = sizeof(info);
    if (bpf_obj_get_info_by_fd(fd, &info, &len) == 0 &&
        std::string_view(info.name).starts_with(prefix)) {
      ids.insert(id);
    }
    ::close(fd);
  }
  return ids;
}

std::pair<uint64_t, uint64_t> program_run_time(uint32_t id) {
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return {0, 0};
  bpf_prog_info info{};
  uint32_t len = sizeof(info);
  const int rc = bpf_obj_get_info_by_fd(fd, &info, &len);
  ::close(fd);
  if (rc != 0) return {0, 0};
  return {info.run_cnt, info.run_time_ns};
}

bool program_exists(uint32_t id) {
  const int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return errno != ENOENT;
  ::close(fd);
  return true;
}

std::string qdiscs(const std::string& netns) {
  return run_checked({"tc", "qdisc", "show"}, in_netns_opts(netns));
}

}  // namespace egressd::testing
