// The per-CPU sum every reader of a per-CPU map uses (loader/per_cpu.h).
#include "loader/per_cpu.h"

#include <cstring>
#include <vector>

#include <gtest/gtest.h>

#include "egressd/abi/dns.h"
#include "egressd/abi/flow.h"

namespace egressd::loader {
namespace {

TEST(SumPerCpu, AddsEveryCounterOfEveryCpu) {
  const std::vector<egressd_flow_counters> cpus = {
      {1, 2, 3, 4}, {10, 20, 30, 40}, {0, 0, 0, 0}, {100, 200, 300, 400}};
  const auto sum = sum_per_cpu(std::span<const egressd_flow_counters>(cpus));
  EXPECT_EQ(sum.orig_bytes, 111u);
  EXPECT_EQ(sum.orig_packets, 222u);
  EXPECT_EQ(sum.reply_bytes, 333u);
  EXPECT_EQ(sum.reply_packets, 444u);
}

TEST(SumPerCpu, RawBytesAsTheKernelCopiesThem) {
  egressd_dns_stats a{};
  egressd_dns_stats b{};
  for (uint64_t i = 0; i < EGRESSD_DNS_STAT_MAX; ++i) {
    a.value[i] = i + 1;
    b.value[i] = (i + 1) * 1000;
  }
  std::vector<uint8_t> raw(2 * sizeof(egressd_dns_stats) + 5);  // a stray tail is not a value
  std::memcpy(raw.data(), &a, sizeof(a));
  std::memcpy(raw.data() + sizeof(a), &b, sizeof(b));
  const auto sum = sum_per_cpu<egressd_dns_stats>(raw);
  for (uint64_t i = 0; i < EGRESSD_DNS_STAT_MAX; ++i) EXPECT_EQ(sum.value[i], (i + 1) * 1001);
  EXPECT_EQ(sum_per_cpu<egressd_dns_stats>(std::span<const uint8_t>()).value[0], 0u);
}

TEST(SumPerCpu, WrapsLikeTheKernelsCounters) {
  const std::vector<egressd_flow_counters> cpus = {{~uint64_t{0}, 0, 0, 0}, {2, 0, 0, 0}};
  EXPECT_EQ(sum_per_cpu(std::span<const egressd_flow_counters>(cpus)).orig_bytes, 1u);
}

}  // namespace
}  // namespace egressd::loader
