#include "egressd/common/one_line.h"

#include <fmt/format.h>

namespace egressd {

std::string escape_one_line(std::string_view text, size_t max_shown) {
  std::string out;
  out.reserve(std::min(text.size(), max_shown) + 3);
  for (size_t i = 0; i < text.size(); ++i) {
    if (i == max_shown) {
      out += "...";
      break;
    }
    const char ch = text[i];
    const auto u = static_cast<unsigned char>(ch);
    if (ch == '"' || ch == '\\') {
      out += '\\';
      out += ch;
    } else if (u < 0x20 || u == 0x7f) {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out += ch;
    }
  }
  return out;
}

std::string quote_one_line(std::string_view text, size_t max_shown) {
  return "\"" + escape_one_line(text, max_shown) + "\"";
}

}  // namespace egressd
