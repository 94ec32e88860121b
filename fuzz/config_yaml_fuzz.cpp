// Fuzzes the YAML config file reader (userspace/config/yaml_file.cpp, parse_file_text: yaml-cpp,
// one document, a top-level map of known settings, scalars or lists) on arbitrary bytes as the
// text of --config. Besides crashes, sanitizer reports and yaml-cpp exceptions escaping (the
// reader must turn each into an error) it traps on: an error of more than one line, a value for
// a setting that does not exist or may not be set in a file, a value without its file line, and
// a value whose quoted form in messages is not one line.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "config/settings.h"

namespace {

void trap_unless_one_line(const std::string& text) {
  if (text.find('\n') != std::string::npos || text.find('\r') != std::string::npos) {
    std::fprintf(stderr, "more than one line: %s\n", text.c_str());
    __builtin_trap();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace detail = egressd::config::detail;
  // A copy of exactly the input's size, so AddressSanitizer flags any read past the end.
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto values = detail::parse_file_text(text, "/etc/egressd/egressd.yaml");
  if (!values) {
    trap_unless_one_line(values.error().message());
    return 0;
  }
  const auto settings = detail::table();
  for (const auto& v : *values) {
    if (v.setting >= settings.size() || !settings[v.setting].allowed_in_file) __builtin_trap();
    if (v.origin.kind != detail::Origin::Kind::kFile || v.origin.line < 0) __builtin_trap();
    trap_unless_one_line(v.shown());
    trap_unless_one_line(v.origin.describe());
  }
  return 0;
}
