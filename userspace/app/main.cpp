// egressd: the per-node agent. main() only parses the command line, sets up logging and signals,
// and hands over to run_agent()/run_init(); every error ends as one line on stderr.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "app/agent.h"
#include "config/config.h"
#include "egressd/common/log.h"
#include "egressd/version.h"

namespace {

std::string hostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return {};
  return buf;
}

int run(int argc, char** argv) {
  using egressd::config::Command;
  const std::vector<std::string> args(argv + 1, argv + argc);
  auto invocation =
      egressd::config::parse(args, egressd::config::current_environment(), hostname());
  if (!invocation) {
    std::fprintf(stderr, "egressd: %s (see egressd --help)\n",
                 invocation.error().message().c_str());
    return 2;
  }
  const auto& cfg = invocation->config;
  switch (invocation->command) {
    case Command::kHelp: std::fputs(egressd::config::help_text().c_str(), stdout); return 0;
    case Command::kVersion: std::printf("egressd %s\n", egressd::kVersion); return 0;
    case Command::kInit:
    case Command::kRun: break;
  }
  egressd::log::init(*egressd::log::parse_level(cfg.log_level));

  // Termination signals are taken synchronously by run_agent() with sigwait(); block them before
  // any thread exists so every thread inherits the mask.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  const auto status = invocation->command == Command::kInit ? egressd::app::run_init(cfg)
                                                            : egressd::app::run_agent(cfg);
  if (!status) {
    spdlog::error("{}", status.error().message());
    return 1;
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Start-up code may throw (allocation, library errors); never crash without a message.
    std::fprintf(stderr, "egressd: fatal: %s\n", e.what());
    return 1;
  }
}
