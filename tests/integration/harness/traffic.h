// The traffic generator: real TCP and UDP sockets opened inside the test namespaces, moving exact
// payload sizes with a deterministic end (both sides see EOF; UDP answers every datagram), so the
// tests know when a flow is over without sleeping.
//
// A socket belongs to the namespace it was created in: each is created on a short-lived thread
// that entered the namespace (netns.h socket_in_netns) and then used from any thread. Every
// blocking step has a timeout and throws HarnessError when it expires.
#pragma once

#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "harness/inet.h"
#include "harness/util.h"

namespace egressd::testing {

// One round of a conversation: the client sends `up` bytes, then the server answers `down` bytes.
struct Exchange {
  size_t up = 0;
  size_t down = 0;
};

struct ServerReport {
  std::vector<std::string> peers;  // source address of each connection/datagram, as seen
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  std::string error;  // empty when the server followed its schedule exactly
};

// Listens on ip:port in `netns` and serves `connections` connections one after the other on a
// thread: for each Exchange it reads exactly `up` bytes and writes `down` bytes, then expects EOF
// and closes.
class TcpServer {
 public:
  TcpServer(const std::string& netns, const std::string& ip, uint16_t port,
            std::vector<Exchange> schedule, int connections = 1);
  TcpServer(const TcpServer&) = delete;
  TcpServer& operator=(const TcpServer&) = delete;
  ~TcpServer();
  // Joins the server thread (after its own accept/IO timeouts at worst).
  ServerReport wait();

 private:
  void serve(const std::vector<Exchange>& schedule, int connections);
  UniqueFd listener_;
  ServerReport report_;
  std::thread thread_;
};

class TcpClient {
 public:
  // Connects from `netns` to ip:port.
  TcpClient(const std::string& netns, const std::string& ip, uint16_t port);
  void send(size_t bytes);
  void recv(size_t bytes);
  void exchange(const Exchange& e) {
    send(e.up);
    recv(e.down);
  }
  // Half-closes, expects the server's EOF with no further data, closes.
  void finish();
  [[nodiscard]] const SockAddr& local() const noexcept { return local_; }

 private:
  UniqueFd fd_;
  SockAddr local_;
};

// Answers `schedule.size()` datagrams on ip:port in `netns`: datagram i must carry `up` bytes and
// is answered with `down` bytes, on a thread.
class UdpServer {
 public:
  UdpServer(const std::string& netns, const std::string& ip, uint16_t port,
            std::vector<Exchange> schedule);
  UdpServer(const UdpServer&) = delete;
  UdpServer& operator=(const UdpServer&) = delete;
  ~UdpServer();
  ServerReport wait();

 private:
  UniqueFd fd_;
  ServerReport report_;
  std::thread thread_;
};

class UdpClient {
 public:
  UdpClient(const std::string& netns, const std::string& ip, uint16_t port);
  // Sends one datagram of `e.up` bytes and waits for the `e.down`-byte answer. Both must fit one
  // unfragmented packet (<= kMaxDatagram).
  void exchange(const Exchange& e);
  [[nodiscard]] const SockAddr& local() const noexcept { return local_; }

  static constexpr size_t kMaxDatagram = 1400;

 private:
  UniqueFd fd_;
  SockAddr local_;
};

// A whole TCP connection: connect, every exchange, finish. Returns the client's address (the
// original tuple's source for conntrack).
SockAddr tcp_session(const std::string& client_netns, const std::string& ip, uint16_t port,
                     const std::vector<Exchange>& schedule);

}  // namespace egressd::testing
