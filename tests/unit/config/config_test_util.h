// Helpers for the config tests: a scratch directory removed at the end of each test, and a
// shorthand for config::parse with an injected environment and host name.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "common/scratch_dir.h"
#include "config/config.h"

namespace egressd::config::testing {

// The config tests' scratch directories are named egressd-config-XXXXXX.
class ScratchDir : public egressd::testing::ScratchDir {
 public:
  ScratchDir() : egressd::testing::ScratchDir("egressd-config") {}
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
