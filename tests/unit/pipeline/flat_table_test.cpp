#include "pipeline/flat_table.h"

#include <map>
#include <random>

#include <gtest/gtest.h>

namespace egressd::pipeline {
namespace {

struct Item {
  uint64_t key;
  uint64_t value;
};

// `bits` of real hash; the rest constant, so small values force long probe chains and equal tags.
template <int Bits>
struct ItemTraits {
  using Key = uint64_t;
  static uint64_t hash(const Item& i, const HashSeed& s) noexcept { return of(i.key, s); }
  static uint64_t of(uint64_t key, const HashSeed& s) noexcept {
    const uint64_t h = mix(key ^ s.s0, s.s1);
    return Bits == 64 ? h : (h & ((uint64_t{1} << Bits) - 1));
  }
  static bool matches(const Item& i, uint64_t k) noexcept { return i.key == k; }
  static Item make(uint64_t k) noexcept { return Item{k, 0}; }
};

const HashSeed kSeed = HashSeed::from(42);

template <typename Traits>
void check_against_map(size_t keys, size_t max_size) {
  FlatTable<Item, Traits> table(max_size, kSeed);
  std::map<uint64_t, uint64_t> model;
  std::mt19937_64 rng(7);
  for (size_t step = 0; step < keys * 4; ++step) {
    const uint64_t k = rng() % (keys * 2);
    const uint64_t h = Traits::of(k, kSeed);
    bool inserted = false;
    Item* item = table.find_or_insert(k, h, inserted);
    const bool known = model.contains(k);
    if (item == nullptr) {
      // Refused only when absent and full.
      EXPECT_FALSE(known);
      EXPECT_EQ(table.size(), max_size);
      continue;
    }
    EXPECT_EQ(inserted, !known);
    item->value += step;
    model[k] += step;
  }
  ASSERT_EQ(table.size(), model.size());
  for (const auto& [k, v] : model) {
    const Item* item = table.find(k, Traits::of(k, kSeed));
    ASSERT_NE(item, nullptr) << k;
    EXPECT_EQ(item->value, v);
  }
  EXPECT_EQ(table.find(keys * 2 + 1, Traits::of(keys * 2 + 1, kSeed)), nullptr);
}

TEST(FlatTable, BehavesLikeAMapAcrossGrowth) {
  check_against_map<ItemTraits<64>>(20'000, 1'000'000);
}

TEST(FlatTable, EqualTagsAndLongProbeChainsStillFindEveryKey) {
  check_against_map<ItemTraits<3>>(500, 1'000'000);  // 8 distinct hashes for 1000 keys
}

TEST(FlatTable, RefusesNewKeysAtMaxSizeButUpdatesKnownOnes) {
  check_against_map<ItemTraits<64>>(5'000, 1'000);
}

TEST(FlatTable, AppendToKeepsInsertionOrderAcrossHugePages) {
  // Past two huge pages of entries: the region switches to huge pages after the first.
  const size_t n = MappedRegion::kHugePage / sizeof(Item) * 2 + 17;
  FlatTable<Item, ItemTraits<64>> table(n + 1000, kSeed);
  for (uint64_t k = 0; k < n; ++k) {
    bool inserted = false;
    auto* e = table.find_or_insert(k, ItemTraits<64>::of(k, kSeed), inserted);
    ASSERT_NE(e, nullptr);
    e->value = k * 3;
  }
  std::vector<Item> out{Item{99, 99}};
  table.append_to(out);
  ASSERT_EQ(out.size(), n + 1);
  out.erase(out.begin());
  for (uint64_t k = 0; k < n; ++k) {
    ASSERT_EQ(out[k].key, k);
    ASSERT_EQ(out[k].value, k * 3);
  }
}

TEST(FlatTable, RetainIfCompactsAndRebuildsTheIndex) {
  FlatTable<Item, ItemTraits<64>> table(100'000, kSeed);
  for (uint64_t k = 0; k < 10'000; ++k) {
    bool inserted = false;
    auto* e = table.find_or_insert(k, ItemTraits<64>::of(k, kSeed), inserted);
    ASSERT_NE(e, nullptr);
    e->value = k;
  }
  EXPECT_EQ(table.retain_if([](const Item& i) { return i.key % 3 == 0; }), 6'666u);
  EXPECT_EQ(table.size(), 3'334u);
  for (uint64_t k = 0; k < 10'000; ++k) {
    const Item* item = table.find(k, ItemTraits<64>::of(k, kSeed));
    if (k % 3 == 0) {
      ASSERT_NE(item, nullptr);
      EXPECT_EQ(item->value, k);
    } else {
      EXPECT_EQ(item, nullptr);
    }
  }
  EXPECT_EQ(table.retain_if([](const Item&) { return true; }), 0u);
}

TEST(FlatTable, ClearEmptiesAndReleasesWhatTheLoadNoLongerNeeds) {
  FlatTable<Item, ItemTraits<64>> table(1'000'000, kSeed);
  const auto fill = [&](uint64_t n) {
    for (uint64_t k = 0; k < n; ++k) {
      bool inserted = false;
      (void)table.find_or_insert(k, ItemTraits<64>::of(k, kSeed), inserted);
    }
  };
  fill(100'000);
  const size_t big = table.memory_bytes();
  table.clear();
  EXPECT_EQ(table.size(), 0u);
  EXPECT_EQ(table.find(5, ItemTraits<64>::of(5, kSeed)), nullptr);
  EXPECT_EQ(table.memory_bytes(), big);  // one interval of lag: the same load is likely again
  fill(10);
  table.clear();  // the interval that just ended needed 10 keys
  EXPECT_LT(table.memory_bytes(), big / 50);
  fill(100'000);
  EXPECT_EQ(table.size(), 100'000u);
}

// The index grows and shrinks inside the region reserved at construction: a table that grew
// past a huge page of index, was cleared twice (the index follows the load with one interval of
// lag) and grows again finds every key, and its memory went down in between.
TEST(FlatTable, IndexShrinksAndGrowsWithinItsReservation) {
  constexpr size_t kBig = 400'000;  // 2^19 slots: a 4 MiB index
  FlatTable<Item, ItemTraits<64>> table(kBig, kSeed);
  const auto fill = [&](size_t n, uint64_t salt) {
    for (uint64_t k = 0; k < n; ++k) {
      bool inserted = false;
      Item* e = table.find_or_insert(k ^ salt, ItemTraits<64>::of(k ^ salt, kSeed), inserted);
      ASSERT_NE(e, nullptr);
      ASSERT_TRUE(inserted);
      e->value = k;
    }
  };
  fill(kBig, 0);
  const size_t big = table.memory_bytes();
  bool refused_inserted = true;
  EXPECT_EQ(table.find_or_insert(kBig + 1, ItemTraits<64>::of(kBig + 1, kSeed), refused_inserted),
            nullptr)
      << "full";
  table.clear();
  fill(100, uint64_t{1} << 40);
  table.clear();  // the interval after: the index follows the load down
  const size_t small = table.memory_bytes();
  // What stays: the entries' first huge page and one 4 KiB page of index (the index went back to
  // small pages when it shrank below one huge page).
  EXPECT_LE(small, MappedRegion::kHugePage + MappedRegion::kPage);
  EXPECT_GT(big, 4 * MappedRegion::kHugePage);
  fill(kBig, 0xAAAA);
  for (uint64_t k = 0; k < kBig; k += 997) {
    const Item* e = table.find(k ^ 0xAAAA, ItemTraits<64>::of(k ^ 0xAAAA, kSeed));
    ASSERT_NE(e, nullptr) << k;
    EXPECT_EQ(e->value, k);
  }
  const uint64_t gone = 5 ^ (uint64_t{1} << 40);
  EXPECT_EQ(table.find(gone, ItemTraits<64>::of(gone, kSeed)), nullptr) << "cleared";
}

}  // namespace
}  // namespace egressd::pipeline
