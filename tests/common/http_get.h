// A minimal blocking HTTP/1.0 client for tests: one request, whole response.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <optional>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

namespace egressd::testing {

struct HttpResult {
  int status = 0;
  std::string body;
};

inline std::optional<HttpResult> http_request(const std::string& method, uint16_t port,
                                              const std::string& path,
                                              const char* host = "127.0.0.1") {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::nullopt;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  inet_pton(AF_INET, host, &addr.sin_addr);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return std::nullopt;
  }
  const std::string req = method + " " + path + " HTTP/1.0\r\nHost: localhost\r\n\r\n";
  if (send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
    close(fd);
    return std::nullopt;
  }
  std::string resp;
  char buf[65536];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof(buf), 0)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  const auto sp = resp.find(' ');
  const auto hdr_end = resp.find("\r\n\r\n");
  if (sp == std::string::npos || hdr_end == std::string::npos) return std::nullopt;
  HttpResult r;
  r.status = std::stoi(resp.substr(sp + 1, 3));
  r.body = resp.substr(hdr_end + 4);
  return r;
}

inline std::optional<HttpResult> http_get(uint16_t port, const std::string& path) {
  return http_request("GET", port, path);
}

}  // namespace egressd::testing
