// Reading the files a user names (--config, --inventory, --kubeconfig and what it references, a
// token file): the one way the agent does it. A path can name anything — a FIFO (open() would
// block forever), a device, a directory, a huge file — so each is opened non-blocking, checked to
// be a regular file and sized by fstat() before a byte is read, and read up to its cap.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "egressd/common/error.h"
#include "egressd/common/unique_fd.h"

namespace egressd {

// The caps of each input, checked before reading (fstat) and while reading.
inline constexpr uint64_t kMaxConfigFileBytes = uint64_t{1} << 20;  // --config (YAML)
// simdjson's DOM parser reserves about 14 bytes of address space per input byte; a standalone
// inventory is a small cluster's worth (256 MiB is some 20,000 full Pod documents), so a bigger
// file is the wrong file (docs/inventory.md).
inline constexpr uint64_t kMaxInventoryBytes = uint64_t{256} << 20;  // --inventory (JSON)
inline constexpr uint64_t kMaxKubeconfigBytes = uint64_t{4} << 20;  // --kubeconfig, its CA/cert/key
inline constexpr uint64_t kMaxTokenFileBytes = uint64_t{64} << 10;  // a bearer token file

struct RegularFile {
  UniqueFd fd;        // open for reading (blocking again)
  uint64_t size = 0;  // as fstat() saw it
};

// Opens `path` as a regular file of at most `max_bytes`. Errors are one line naming `what`
// ("inventory /x"), the path and the reason ("not a regular file (a FIFO)", "larger than 1 MiB");
// with an empty `what` they are the bare reason, for a caller that names the input itself.
[[nodiscard]] Result<RegularFile> open_regular_file(const std::string& path, uint64_t max_bytes,
                                                    std::string_view what);

// The whole content of `path`, as open_regular_file() allows it (a file that grows past
// `max_bytes` while being read is refused too).
[[nodiscard]] Result<std::string> read_regular_file(const std::string& path, uint64_t max_bytes,
                                                    std::string_view what);

// "1 MiB", "256 MiB", "4096 bytes": a size cap as error messages say it.
[[nodiscard]] std::string describe_size(uint64_t bytes);

}  // namespace egressd
