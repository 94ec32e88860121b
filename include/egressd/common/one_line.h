// Text from outside the agent (a file, the API server, a library's message that quotes its
// input) as a log line or an error message shows it: the one escaping rule, so a line is always
// one line and a hostile value cannot forge a second one.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace egressd {

// `text` with control characters as \xNN and quotes and backslashes escaped, cut after
// `max_shown` input characters with "...".
[[nodiscard]] std::string escape_one_line(std::string_view text, size_t max_shown);

// The same in double quotes: "value".
[[nodiscard]] std::string quote_one_line(std::string_view text, size_t max_shown);

}  // namespace egressd
