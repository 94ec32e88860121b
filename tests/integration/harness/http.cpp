#include "harness/http.h"

#include <poll.h>

#include <array>
#include <cerrno>
#include <charconv>

#include <fmt/format.h>
#include <sys/socket.h>

#include "harness/inet.h"
#include "harness/netns.h"

namespace egressd::testing {

HttpResponse http_get(const std::string& netns, const std::string& ip, uint16_t port,
                      const std::string& path, std::chrono::milliseconds timeout) {
  HttpResponse resp;
  const auto deadline = Clock::now() + timeout;
  const auto left_ms = [&] {
    return static_cast<int>(std::max<int64_t>(
        0, std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count()));
  };
  const SockAddr addr = make_sockaddr(ip, port);
  const UniqueFd fd = socket_in_netns(netns, addr.family(), SOCK_STREAM);
  if (::connect(fd.get(), addr.get(), addr.len) != 0) {
    resp.error = fmt::format("connect {}:{}: {}", ip, port, errno_text(errno));
    return resp;
  }
  const std::string request =
      fmt::format("GET {} HTTP/1.0\r\nHost: {}:{}\r\nAccept: */*\r\nUser-Agent: egressd-it\r\n\r\n",
                  path, ip, port);
  if (::send(fd.get(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    resp.error = fmt::format("send: {}", errno_text(errno));
    return resp;
  }
  std::string raw;
  std::array<char, 65536> buf{};
  while (true) {
    pollfd p{fd.get(), POLLIN, 0};
    const int r = ::poll(&p, 1, left_ms());
    if (r <= 0) {
      resp.error = r == 0 ? "timed out" : errno_text(errno);
      return resp;
    }
    const ssize_t n = ::recv(fd.get(), buf.data(), buf.size(), 0);
    if (n < 0) {
      resp.error = fmt::format("recv: {}", errno_text(errno));
      return resp;
    }
    if (n == 0) {
      break;
    }
    raw.append(buf.data(), static_cast<size_t>(n));
  }
  // "HTTP/1.1 200 OK\r\n...\r\n\r\nbody"
  const size_t header_end = raw.find("\r\n\r\n");
  if (!raw.starts_with("HTTP/") || header_end == std::string::npos || raw.size() < 12) {
    resp.error = "malformed HTTP response: " + raw.substr(0, 200);
    return resp;
  }
  const char* code = raw.c_str() + raw.find(' ') + 1;
  if (std::from_chars(code, code + 3, resp.status).ec != std::errc()) {
    resp.error = "malformed HTTP status line: " + raw.substr(0, 40);
    resp.status = 0;
    return resp;
  }
  resp.body = raw.substr(header_end + 4);
  return resp;
}

}  // namespace egressd::testing
