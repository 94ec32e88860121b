#include "egressd/common/kube_names.h"

namespace egressd::kube {

namespace {

constexpr bool lower_alnum(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
constexpr bool alnum(char c) noexcept {
  return lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

// [a-z0-9]([-a-z0-9]*[a-z0-9])? of any length.
bool is_rfc1123_part(std::string_view s) noexcept {
  if (s.empty() || !lower_alnum(s.front()) || !lower_alnum(s.back())) return false;
  for (const char c : s) {
    if (!lower_alnum(c) && c != '-') return false;
  }
  return true;
}

}  // namespace

bool is_dns_label(std::string_view s) noexcept {
  return s.size() <= 63 && is_rfc1123_part(s);
}

bool is_dns_subdomain(std::string_view s) noexcept {
  // apimachinery's IsDNS1123Subdomain caps the whole name at 253 and nothing else: a part
  // between dots may be longer than 63 (generated pod names of Jobs, Tekton and Argo often are).
  if (s.empty() || s.size() > 253) return false;
  while (true) {
    const size_t dot = s.find('.');
    if (!is_rfc1123_part(s.substr(0, dot))) return false;
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

bool is_label_value(std::string_view s) noexcept {
  if (s.empty()) return true;
  if (s.size() > 63 || !alnum(s.front()) || !alnum(s.back())) return false;
  for (const char c : s) {
    if (!alnum(c) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

bool is_kind(std::string_view s) noexcept {
  if (s.empty() || s.size() > 63 ||
      !((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z'))) {
    return false;
  }
  for (const char c : s) {
    if (!alnum(c)) return false;
  }
  return true;
}

}  // namespace egressd::kube
