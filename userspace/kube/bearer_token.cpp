#include "kube/bearer_token.h"

#include <fmt/format.h>

#include "egressd/common/file_input.h"

namespace egressd::kube {
namespace {

// Go's unicode.IsSpace over ASCII, as strings.TrimSpace uses it.
bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

}  // namespace

Result<std::string> parse_bearer_token(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  if (text.empty()) return fail(Errc::kInvalidArgument, "empty");
  for (size_t i = 0; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x21 && byte <= 0x7e) continue;
    if (byte == ' ') return fail(Errc::kInvalidArgument, fmt::format("a space at byte {}", i));
    return fail(
        Errc::kInvalidArgument,
        fmt::format("{} (0x{:02x}) at byte {}",
                    byte < 0x20 || byte == 0x7f ? "a control character" : "a non-ASCII byte", byte,
                    i));
  }
  return std::string(text);
}

Result<std::string> read_token_file(const std::string& path) {
  const std::string what = fmt::format("token file {}", path);
  auto text = read_regular_file(path, kMaxTokenFileBytes, what);
  if (!text) return std::unexpected(std::move(text.error()));
  auto token = parse_bearer_token(*text);
  if (!token) return std::unexpected(std::move(token.error()).wrap(what));
  return token;
}

}  // namespace egressd::kube
