// Bearer tokens for the API server: the one place a token is checked before it goes into an
// Authorization header. A token from a kubeconfig or a (rotating) token file is one run of
// visible ASCII: a CR or LF in it would end the header line and let the file's author add
// headers of their own, a space or a control character is no token the API server issued.
// Errors never contain the token, only where the bad byte is.
#pragma once

#include <string>
#include <string_view>

#include "egressd/common/error.h"

namespace egressd::kube {

// `text` with surrounding whitespace trimmed (client-go trims a token file with
// strings.TrimSpace), if what remains is a token: not empty, every byte visible ASCII
// (0x21-0x7e; RFC 6750's b64token is a subset). Errors: "empty", "a control character (0x0d)
// at byte 12", "a space at byte 3", "a non-ASCII byte (0xc3) at byte 5".
[[nodiscard]] Result<std::string> parse_bearer_token(std::string_view text);

// The token in the file at `path` (read as common/file_input reads a user-named file: a regular
// file of at most kMaxTokenFileBytes). Errors name the file: "token file /x: cannot open file:
// No such file or directory", "token file /x: a control character (0x0a) at byte 9".
[[nodiscard]] Result<std::string> read_token_file(const std::string& path);

}  // namespace egressd::kube
