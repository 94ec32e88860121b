// Internal to egressd_config: the settings table and the raw values the three sources (flags,
// environment, YAML file) produce before they are validated into a Config.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"

namespace egressd::config::detail {

// Where a raw value came from; named in every error message.
struct Origin {
  enum class Kind { kDefault, kFlag, kEnv, kFile };
  Kind kind = Kind::kDefault;
  std::string name;  // env: the variable; file: the path
  int line = 0;      // file: 1-based line, 0 if yaml-cpp gave no mark

  // "flag", "env EGRESSD_READ_INTERVAL", "file /etc/egressd.yaml:3", "default".
  [[nodiscard]] std::string describe() const;
};

// A value as written by the user. YAML sequences keep their items; every other form is text.
struct RawValue {
  size_t setting = 0;  // index into the settings table
  std::string text;
  std::optional<std::vector<std::string>> items;
  Origin origin;

  // How the value is quoted in messages: "5s" or [a, b].
  [[nodiscard]] std::string shown() const;
};

// Assigns a validated value to its Config field. On error the Error's context is the problem
// alone ("expected a duration like 5s or 500ms"); the caller adds setting, value and origin.
using ApplyFn = Status (*)(Config& cfg, const RawValue& value);

struct Setting {
  SettingInfo info;
  ApplyFn apply;
  bool is_bool = false;         // --flag alone means true
  bool allowed_in_file = true;  // --config cannot name itself
};

[[nodiscard]] std::span<const Setting> table();
[[nodiscard]] std::optional<size_t> find_setting(std::string_view name);
// The closest setting name within two edits, for "did you mean" hints.
[[nodiscard]] std::optional<std::string_view> suggest(std::string_view name);

// `"value"` with control characters escaped and long values shortened: one line, always.
[[nodiscard]] std::string quote(std::string_view value);

// Parses the YAML config file at `path` into raw values (origin: file path and line).
[[nodiscard]] Result<std::vector<RawValue>> load_file(const std::string& path,
                                                      const Origin& path_origin);
// The same for YAML text already in memory (`path` is used in messages only).
[[nodiscard]] Result<std::vector<RawValue>> parse_file_text(const std::string& text,
                                                            const std::string& path);

}  // namespace egressd::config::detail
