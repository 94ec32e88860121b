// Agent: builds the pipeline from a Config (inventory -> indices, source, reducer, exporters,
// HTTP endpoints), runs it until SIGTERM/SIGINT, and shuts it down in order so the last interval
// is still published.
#pragma once

#include "config/config.h"
#include "egressd/common/error.h"

namespace egressd::app {

// Runs the agent; returns when a termination signal arrives (Ok) or start-up fails (Error).
// SIGTERM and SIGINT must be blocked in the calling thread before the call (see main.cpp).
[[nodiscard]] Status run_agent(const config::Config& config);

// `egressd init`: enables netfilter conntrack accounting in this network namespace.
[[nodiscard]] Status run_init(const config::Config& config);

}  // namespace egressd::app
