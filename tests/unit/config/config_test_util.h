// Helpers for the config tests: a scratch directory removed at the end of each test, and a
// shorthand for config::parse with an injected environment and host name.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "config/config.h"

namespace egressd::config::testing {

class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "egressd-config-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) ADD_FAILURE() << "mkdtemp failed";
    path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  // Writes `text` to `name` inside the directory and returns the full path.
  std::string write(const std::string& name, const std::string& text) const {
    const std::string p = path_ + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  std::string path_;
};

inline Result<Invocation> run(const std::vector<std::string>& args, const Environment& env = {},
                              const std::string& hostname = "test-host") {
  return parse(args, env, hostname);
}

// The error line of a parse that must fail ("<parsed>" if it did not).
inline std::string error_of(const std::vector<std::string>& args, const Environment& env = {}) {
  auto r = run(args, env);
  return r.has_value() ? std::string("<parsed>") : r.error().message();
}

inline const std::string kFixtureInventory =
    std::string(EGRESSD_SOURCE_DIR) + "/tests/fixtures/inventory/minimal.json";

}  // namespace egressd::config::testing
