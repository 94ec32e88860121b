#include "pipeline/fork_join.h"

#include <vector>

#include <gtest/gtest.h>

namespace egressd::pipeline {
namespace {

TEST(ForkJoinPool, EveryIndexRunsOnceAndWritesAreVisibleAfterRun) {
  ForkJoinPool pool(3);
  for (size_t round = 0; round < 200; ++round) {
    const size_t n = round % 17;
    std::vector<size_t> hits(n, 0);  // plain writes: run() must order them before our reads
    pool.run(n, [&](size_t i) { hits[i] += i + round; });
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(hits[i], i + round) << "round " << round;
  }
}

TEST(ForkJoinPool, OneThreadRunsOnTheCaller) {
  ForkJoinPool pool(1);
  const auto caller = std::this_thread::get_id();
  size_t calls = 0;
  pool.run(5, [&](size_t) {
    EXPECT_EQ(std::this_thread::get_id(), caller);
    ++calls;
  });
  EXPECT_EQ(calls, 5u);
}

}  // namespace
}  // namespace egressd::pipeline
