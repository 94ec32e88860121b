#include "kube/inventory.h"

#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

#include "egressd/common/file_input.h"
#include "kube/object_json.h"

namespace egressd::kube {
Result<Inventory> parse_inventory(std::string_view json) {
  if (json.empty()) return fail(Errc::kParse, "malformed JSON: empty document");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  // parse() copies the bytes into a padded buffer: simdjson reads up to 64 bytes past the end.
  if (const auto err = parser.parse(json.data(), json.size()).get(doc)) {
    return fail(Errc::kParse, fmt::format("malformed JSON: {}", simdjson::error_message(err)));
  }
  return inventory_from_json(doc);
}

Result<Inventory> load_inventory(const std::string& path) {
  const std::string what = fmt::format("inventory {}", path);
  auto file = open_regular_file(path, kMaxInventoryBytes, what);
  if (!file) return std::unexpected(std::move(file.error()));
  // Read straight into simdjson's padded buffer: no second copy of a large file.
  simdjson::padded_string text(static_cast<size_t>(file->size));
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::read(file->fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return fail_errno(what + ": cannot read");
    if (n == 0) break;  // the file shrank while being read: parse what is there
    done += static_cast<size_t>(n);
  }
  if (done == 0) return fail(Errc::kParse, what + ": malformed JSON: empty document");
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (const auto err = parser.parse(text.data(), done, false).get(doc)) {
    return fail(Errc::kParse,
                fmt::format("{}: malformed JSON: {}", what, simdjson::error_message(err)));
  }
  auto inv = inventory_from_json(doc);
  if (!inv) return std::unexpected(std::move(inv.error()).wrap(what));
  return inv;
}

}  // namespace egressd::kube
