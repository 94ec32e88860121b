#include "egressd/common/self_metrics.h"

#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace egressd {
namespace {

TEST(SelfMetrics, SameNameAndLabelsIsOneMetric) {
  SelfMetrics m;
  Counter& a = m.counter("x_total", "help", {{"reason", "a"}});
  Counter& a2 = m.counter("x_total", "help", {{"reason", "a"}});
  Counter& b = m.counter("x_total", "help", {{"reason", "b"}});
  EXPECT_EQ(&a, &a2);
  EXPECT_NE(&a, &b);
  a.inc(3);
  a2.inc();
  b.inc();
  std::vector<std::pair<std::string, uint64_t>> seen;
  m.visit([&](const SelfMetrics::Entry& e) {
    seen.emplace_back(e.labels.at(0).second, e.counter->value());
  });
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0], (std::pair<std::string, uint64_t>{"a", 4}));
  EXPECT_EQ(seen[1], (std::pair<std::string, uint64_t>{"b", 1}));
}

TEST(SelfMetrics, CountersAreExactUnderConcurrency) {
  SelfMetrics m;
  Counter& c = m.counter("c_total", "help");
  std::vector<std::jthread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100000; ++i) c.inc();
    });
  }
  threads.clear();
  EXPECT_EQ(c.value(), 400000u);
}

TEST(SelfMetrics, GaugesHoldTheLastValue) {
  SelfMetrics m;
  Gauge& g = m.gauge("g", "help");
  g.set(2.5);
  g.set(1.25);
  EXPECT_DOUBLE_EQ(g.value(), 1.25);
}

}  // namespace
}  // namespace egressd
