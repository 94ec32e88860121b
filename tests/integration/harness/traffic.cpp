#include "harness/traffic.h"

#include <poll.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include <fmt/format.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "harness/netns.h"

namespace egressd::testing {
namespace {

constexpr int kIoTimeoutMs = 10000;

void wait_fd(int fd, short events, const char* what) {
  pollfd p{fd, events, 0};
  int r;
  do {
    r = ::poll(&p, 1, kIoTimeoutMs);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    throw_errno(what);
  }
  if (r == 0) {
    throw HarnessError(fmt::format("{}: timed out after {} ms", what, kIoTimeoutMs));
  }
}

void send_all(int fd, size_t bytes) {
  std::array<char, 16384> buf{};
  buf.fill('x');
  while (bytes > 0) {
    wait_fd(fd, POLLOUT, "tcp send");
    const ssize_t n = ::send(fd, buf.data(), std::min(bytes, buf.size()), MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      throw_errno("tcp send");
    }
    bytes -= static_cast<size_t>(n);
  }
}

void recv_exact(int fd, size_t bytes) {
  std::array<char, 16384> buf{};
  while (bytes > 0) {
    wait_fd(fd, POLLIN, "tcp recv");
    const ssize_t n = ::recv(fd, buf.data(), std::min(bytes, buf.size()), 0);
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN) {
        continue;
      }
      throw_errno("tcp recv");
    }
    if (n == 0) {
      throw HarnessError(fmt::format("tcp recv: EOF with {} bytes still expected", bytes));
    }
    bytes -= static_cast<size_t>(n);
  }
}

// Reads until EOF; returns the bytes that arrived before it (the schedule says: none).
size_t drain_to_eof(int fd) {
  std::array<char, 4096> buf{};
  size_t extra = 0;
  while (true) {
    wait_fd(fd, POLLIN, "waiting for EOF");
    const ssize_t n = ::recv(fd, buf.data(), buf.size(), 0);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n < 0) {
      throw_errno("waiting for EOF");
    }
    if (n == 0) {
      return extra;
    }
    extra += static_cast<size_t>(n);
  }
}

SockAddr local_address(int fd) {
  SockAddr a;
  a.len = sizeof a.storage;
  if (::getsockname(fd, a.get(), &a.len) != 0) {
    throw_errno("getsockname");
  }
  return a;
}

UniqueFd bound_socket(const std::string& netns, const std::string& ip, uint16_t port, int type) {
  const SockAddr addr = make_sockaddr(ip, port);
  UniqueFd fd = socket_in_netns(netns, addr.family(), type);
  const int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (::bind(fd.get(), addr.get(), addr.len) != 0) {
    throw_errno(fmt::format("bind {} port {} in {}", ip, port, netns));
  }
  return fd;
}

UniqueFd connected_socket(const std::string& netns, const std::string& ip, uint16_t port,
                          int type) {
  const SockAddr addr = make_sockaddr(ip, port);
  UniqueFd fd = socket_in_netns(netns, addr.family(), type);
  if (::connect(fd.get(), addr.get(), addr.len) != 0) {
    throw_errno(fmt::format("connect from {} to {} port {}", netns, ip, port));
  }
  return fd;
}

}  // namespace

TcpServer::TcpServer(const std::string& netns, const std::string& ip, uint16_t port,
                     std::vector<Exchange> schedule, int connections)
    : listener_(bound_socket(netns, ip, port, SOCK_STREAM)) {
  if (::listen(listener_.get(), 16) != 0) {
    throw_errno("listen");
  }
  thread_ = std::thread([this, s = std::move(schedule), connections] { serve(s, connections); });
}

TcpServer::~TcpServer() {
  if (thread_.joinable()) {
    // Wake a server still blocked in poll(): shutdown makes the listener readable.
    ::shutdown(listener_.get(), SHUT_RDWR);
    thread_.join();
  }
}

void TcpServer::serve(const std::vector<Exchange>& schedule, int connections) {
  try {
    for (int i = 0; i < connections; ++i) {
      wait_fd(listener_.get(), POLLIN, "tcp accept");
      SockAddr peer;
      peer.len = sizeof peer.storage;
      const UniqueFd conn(::accept4(listener_.get(), peer.get(), &peer.len, SOCK_CLOEXEC));
      if (!conn.valid()) {
        throw_errno("tcp accept");
      }
      report_.peers.push_back(peer.ip());
      for (const auto& e : schedule) {
        recv_exact(conn.get(), e.up);
        report_.bytes_in += e.up;
        send_all(conn.get(), e.down);
        report_.bytes_out += e.down;
      }
      if (const size_t extra = drain_to_eof(conn.get()); extra != 0) {
        throw HarnessError(fmt::format("tcp server: {} unexpected bytes before EOF", extra));
      }
    }
  } catch (const std::exception& e) {
    report_.error = e.what();
  }
}

ServerReport TcpServer::wait() {
  if (thread_.joinable()) {
    thread_.join();
  }
  return report_;
}

TcpClient::TcpClient(const std::string& netns, const std::string& ip, uint16_t port)
    : fd_(connected_socket(netns, ip, port, SOCK_STREAM)), local_(local_address(fd_.get())) {}

void TcpClient::send(size_t bytes) {
  send_all(fd_.get(), bytes);
}

void TcpClient::recv(size_t bytes) {
  recv_exact(fd_.get(), bytes);
}

void TcpClient::finish() {
  if (::shutdown(fd_.get(), SHUT_WR) != 0) {
    throw_errno("tcp shutdown");
  }
  if (const size_t extra = drain_to_eof(fd_.get()); extra != 0) {
    throw HarnessError(fmt::format("tcp client: {} unexpected bytes before EOF", extra));
  }
  fd_.reset();
}

UdpServer::UdpServer(const std::string& netns, const std::string& ip, uint16_t port,
                     std::vector<Exchange> schedule)
    : fd_(bound_socket(netns, ip, port, SOCK_DGRAM)) {
  thread_ = std::thread([this, s = std::move(schedule)] {
    try {
      std::array<char, 65536> buf{};
      for (const auto& e : s) {
        wait_fd(fd_.get(), POLLIN, "udp recv");
        SockAddr peer;
        peer.len = sizeof peer.storage;
        const ssize_t n = ::recvfrom(fd_.get(), buf.data(), buf.size(), 0, peer.get(), &peer.len);
        if (n < 0) {
          throw_errno("udp recvfrom");
        }
        if (static_cast<size_t>(n) != e.up) {
          throw HarnessError(fmt::format("udp server: got {} bytes, expected {}", n, e.up));
        }
        report_.peers.push_back(peer.ip());
        report_.bytes_in += e.up;
        if (::sendto(fd_.get(), buf.data(), e.down, 0, peer.get(), peer.len) !=
            static_cast<ssize_t>(e.down)) {
          throw_errno("udp sendto");
        }
        report_.bytes_out += e.down;
      }
    } catch (const std::exception& ex) {
      report_.error = ex.what();
    }
  });
}

UdpServer::~UdpServer() {
  if (thread_.joinable()) {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
}

ServerReport UdpServer::wait() {
  if (thread_.joinable()) {
    thread_.join();
  }
  return report_;
}

UdpClient::UdpClient(const std::string& netns, const std::string& ip, uint16_t port)
    : fd_(connected_socket(netns, ip, port, SOCK_DGRAM)), local_(local_address(fd_.get())) {}

void UdpClient::exchange(const Exchange& e) {
  if (e.up == 0 || e.down == 0 || e.up > kMaxDatagram || e.down > kMaxDatagram) {
    throw HarnessError("udp exchange sizes must be within 1..kMaxDatagram");
  }
  std::array<char, kMaxDatagram + 1> buf{};
  if (::send(fd_.get(), buf.data(), e.up, 0) != static_cast<ssize_t>(e.up)) {
    throw_errno("udp send");
  }
  wait_fd(fd_.get(), POLLIN, "udp answer");
  const ssize_t n = ::recv(fd_.get(), buf.data(), buf.size(), 0);
  if (n < 0) {
    throw_errno("udp recv");
  }
  if (static_cast<size_t>(n) != e.down) {
    throw HarnessError(fmt::format("udp client: got {} bytes, expected {}", n, e.down));
  }
}

SockAddr tcp_session(const std::string& client_netns, const std::string& ip, uint16_t port,
                     const std::vector<Exchange>& schedule) {
  TcpClient client(client_netns, ip, port);
  for (const auto& e : schedule) {
    client.exchange(e);
  }
  client.finish();
  return client.local();
}

}  // namespace egressd::testing
