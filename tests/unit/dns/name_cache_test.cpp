#include "dns/name_cache.h"

#include <gtest/gtest.h>

#include "common/manual_clock.h"
#include "common/self_metrics_reader.h"
#include "unit/dns/dns_test_util.h"

namespace egressd::dns {
namespace {

using std::chrono::seconds;

IpAddr ip(const char* s) {
  return IpAddr::parse(s).value();
}

class NameCacheTest : public ::testing::Test {
 protected:
  std::string get(uint64_t scope, const char* addr) {
    std::string out;
    return cache_->lookup(scope, ip(addr), out) ? out : "";
  }
  uint64_t metric(const std::string& name, const MetricLabels& labels = {}) {
    return egressd::testing::counter_value(metrics_, name, labels);
  }
  void make(NameCacheOptions o) { cache_ = std::make_unique<NameCache>(o, clock_, metrics_); }

  egressd::testing::ManualClock clock_;
  SelfMetrics metrics_;
  std::unique_ptr<NameCache> cache_ =
      std::make_unique<NameCache>(NameCacheOptions{}, clock_, metrics_);
};

TEST_F(NameCacheTest, ScopedLookups) {
  cache_->insert(1, ip("203.0.113.10"), "api.example.com", 300);
  cache_->insert(2, ip("203.0.113.10"), "cdn.example.net", 300);
  EXPECT_EQ(get(1, "203.0.113.10"), "api.example.com");
  EXPECT_EQ(get(2, "203.0.113.10"), "cdn.example.net");
  EXPECT_EQ(get(3, "203.0.113.10"), "");  // another pod asked nothing
  EXPECT_EQ(get(1, "203.0.113.11"), "");
  EXPECT_EQ(metric("egressd_dns_cache_lookups_total", {{"result", "hit"}}), 2u);
  EXPECT_EQ(metric("egressd_dns_cache_lookups_total", {{"result", "miss"}}), 2u);
}

TEST_F(NameCacheTest, TtlIsClampedToMinAndMax) {
  make({.capacity = 16, .min_ttl = seconds(30), .max_ttl = seconds(600)});
  cache_->insert(1, ip("192.0.2.1"), "short.test", 1);     // -> 30 s
  cache_->insert(1, ip("192.0.2.2"), "long.test", 86400);  // -> 600 s
  cache_->insert(1, ip("192.0.2.3"), "mid.test", 100);     // 100 s
  clock_.advance(seconds(29));
  EXPECT_EQ(cache_->size(), 3u);
  clock_.advance(seconds(2));  // 31 s: short.test is gone (not looked up since insert)
  EXPECT_EQ(get(1, "192.0.2.1"), "");
  clock_.advance(seconds(70));  // 101 s
  EXPECT_EQ(get(1, "192.0.2.3"), "");
  EXPECT_EQ(get(1, "192.0.2.2"), "long.test");
  EXPECT_EQ(metric("egressd_dns_cache_expired_total"), 2u);
}

TEST_F(NameCacheTest, UseKeepsANameAliveForMinTtl) {
  make({.capacity = 16, .min_ttl = seconds(60), .max_ttl = seconds(3600)});
  cache_->insert(1, ip("192.0.2.1"), "a.test", 60);
  for (int i = 0; i < 10; ++i) {  // a flow read every 50 s for 500 s
    clock_.advance(seconds(50));
    EXPECT_EQ(get(1, "192.0.2.1"), "a.test") << i;
  }
  clock_.advance(seconds(61));
  EXPECT_EQ(get(1, "192.0.2.1"), "");
}

TEST_F(NameCacheTest, NewerAnswerReplacesNameAndExpiry) {
  cache_->insert(1, ip("192.0.2.1"), "old.test", 3000);
  cache_->insert(1, ip("192.0.2.1"), "new.test", 60);
  EXPECT_EQ(cache_->size(), 1u);
  EXPECT_EQ(get(1, "192.0.2.1"), "new.test");
}

TEST_F(NameCacheTest, LruEvictionIsBoundedAndCounted) {
  make({.capacity = 4, .min_ttl = seconds(60), .max_ttl = seconds(3600)});
  for (int i = 1; i <= 4; ++i) {
    cache_->insert(7, IpAddr::v4(0xc0000200u + static_cast<uint32_t>(i)), "n.test", 600);
  }
  EXPECT_EQ(get(7, "192.0.2.1"), "n.test");  // 1 is now the most recently used
  cache_->insert(7, ip("192.0.2.5"), "five.test", 600);
  EXPECT_EQ(cache_->size(), 4u);
  EXPECT_EQ(get(7, "192.0.2.2"), "");  // the least recently used went
  EXPECT_EQ(get(7, "192.0.2.1"), "n.test");
  EXPECT_EQ(get(7, "192.0.2.5"), "five.test");
  EXPECT_EQ(metric("egressd_dns_cache_evictions_total"), 1u);
}

// Heavy churn through a small table: the open-addressing index and the LRU list stay consistent
// with a reference model.
TEST_F(NameCacheTest, ChurnMatchesAReferenceModel) {
  constexpr size_t kCap = 64;
  make({.capacity = kCap, .min_ttl = seconds(1), .max_ttl = seconds(3600)});
  std::vector<std::pair<uint64_t, uint32_t>> lru;  // front = most recent
  uint64_t x = 88172645463325252ULL;
  for (int step = 0; step < 20000; ++step) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    const uint64_t scope = x % 3;
    const uint32_t a = static_cast<uint32_t>((x >> 8) % 200);
    const IpAddr addr = IpAddr::v4(0x0a000000u + a);
    const std::string name = "n" + std::to_string(a % 17) + ".test";
    const auto it = std::find(lru.begin(), lru.end(), std::pair{scope, a});
    if ((x >> 40) % 2 == 0) {
      cache_->insert(scope, addr, name, 3600);
      if (it != lru.end()) {
        lru.erase(it);
      } else if (lru.size() == kCap) {
        lru.pop_back();
      }
      lru.insert(lru.begin(), {scope, a});
    } else {
      std::string out;
      const bool hit = cache_->lookup(scope, addr, out);
      ASSERT_EQ(hit, it != lru.end()) << step;
      if (hit) {
        EXPECT_EQ(out, "n" + std::to_string(a % 17) + ".test");
        const auto entry = *it;
        lru.erase(it);
        lru.insert(lru.begin(), entry);
      }
    }
    ASSERT_EQ(cache_->size(), lru.size());
  }
}

}  // namespace
}  // namespace egressd::dns
