// Shared by the DNS unit tests, the fuzzer's seed writer and the benchmark: the recorded
// fixtures (fixtures/README.md), a builder of hand-made messages, hostile ones included, and a
// reader of the DNS self-metrics.
#pragma once

#include <array>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "egressd/common/self_metrics.h"

namespace egressd::testing {

// A fixture file of tests/unit/dns/fixtures (`name` without .bin).
inline std::vector<uint8_t> dns_fixture(std::string_view name) {
  const std::string path =
      std::string(EGRESSD_SOURCE_DIR) + "/tests/unit/dns/fixtures/" + std::string(name) + ".bin";
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("missing fixture " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Builds DNS messages field by field (RFC 1035 §4.1). Nothing is validated: hostile messages
// are the point.
class DnsBuilder {
 public:
  DnsBuilder& header(uint16_t id, uint16_t flags, uint16_t qd, uint16_t an, uint16_t ns = 0,
                     uint16_t ar = 0) {
    for (const uint16_t v : {id, flags, qd, an, ns, ar}) u16(v);
    return *this;
  }
  // A standard response header: QR, RD, RA, NOERROR.
  DnsBuilder& response(uint16_t qd, uint16_t an) { return header(0x1234, 0x8180, qd, an); }
  // Labels of a dotted name, then the root (or a pointer to `pointer` instead of the root).
  DnsBuilder& name(std::string_view dotted, int pointer = -1) {
    while (!dotted.empty()) {
      const size_t dot = dotted.find('.');
      const std::string_view label = dotted.substr(0, dot);
      bytes_.push_back(static_cast<uint8_t>(label.size()));
      bytes_.insert(bytes_.end(), label.begin(), label.end());
      if (dot == std::string_view::npos) break;
      dotted.remove_prefix(dot + 1);
    }
    if (pointer >= 0) {
      return ptr(static_cast<uint16_t>(pointer));
    }
    bytes_.push_back(0);
    return *this;
  }
  DnsBuilder& ptr(uint16_t offset) {
    u16(static_cast<uint16_t>(0xc000 | offset));
    return *this;
  }
  DnsBuilder& question(std::string_view dotted, uint16_t type = 1) {
    name(dotted);
    u16(type);
    u16(1);
    return *this;
  }
  // TYPE, CLASS IN, TTL, RDLENGTH (after the owner name).
  DnsBuilder& rr_fixed(uint16_t type, uint32_t ttl, uint16_t rdlength, uint16_t klass = 1) {
    u16(type);
    u16(klass);
    u16(static_cast<uint16_t>(ttl >> 16));
    u16(static_cast<uint16_t>(ttl));
    u16(rdlength);
    return *this;
  }
  DnsBuilder& a(std::string_view owner, uint32_t ttl, std::array<uint8_t, 4> addr) {
    name(owner);
    rr_fixed(1, ttl, 4);
    bytes_.insert(bytes_.end(), addr.begin(), addr.end());
    return *this;
  }
  DnsBuilder& cname(std::string_view owner, uint32_t ttl, std::string_view target) {
    name(owner);
    const size_t len_at = bytes_.size() + 8;
    rr_fixed(5, ttl, 0);
    const size_t start = bytes_.size();
    name(target);
    const size_t len = bytes_.size() - start;
    bytes_[len_at] = static_cast<uint8_t>(len >> 8);
    bytes_[len_at + 1] = static_cast<uint8_t>(len);
    return *this;
  }
  DnsBuilder& raw(std::initializer_list<uint8_t> b) {
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  DnsBuilder& u16(uint16_t v) {
    bytes_.push_back(static_cast<uint8_t>(v >> 8));
    bytes_.push_back(static_cast<uint8_t>(v));
    return *this;
  }
  [[nodiscard]] size_t size() const noexcept { return bytes_.size(); }
  [[nodiscard]] std::vector<uint8_t> bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_;
};

}  // namespace egressd::testing
