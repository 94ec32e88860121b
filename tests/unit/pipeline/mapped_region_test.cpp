#include "pipeline/mapped_region.h"

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <system_error>

#include <gtest/gtest.h>

namespace egressd::pipeline {
namespace {

// The smaps block of the mapping that contains `p` (empty if none).
std::string smaps_of(const void* p) {
  std::ifstream in("/proc/self/smaps");
  const auto addr = reinterpret_cast<uintptr_t>(p);
  std::string line;
  std::string block;
  bool inside = false;
  while (std::getline(in, line)) {
    // A mapping's header starts "lo-hi perms ..."; its fields are "Name:   value" lines.
    unsigned long lo = 0;
    unsigned long hi = 0;
    const bool header = line.find(':') == std::string::npos || line.find(':') > line.find(' ');
    if (header && std::sscanf(line.c_str(), "%lx-%lx", &lo, &hi) == 2) {
      if (inside) break;
      inside = addr >= lo && addr < hi;
    }
    if (inside) block += line + "\n";
  }
  return block;
}

// The value of `name` in an smaps block, whitespace trimmed.
std::string field(const std::string& block, const std::string& name) {
  const size_t at = block.find(name);
  if (at == std::string::npos) return {};
  std::istringstream rest(block.substr(at + name.size()));
  std::string value;
  rest >> value;
  return value;
}

bool thp_enabled() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string mode;
  std::getline(in, mode);
  return !mode.empty() && mode.find("[never]") == std::string::npos;
}

TEST(MappedRegion, SmallRegionsUseWholeSmallPagesAndStartZeroed) {
  MappedRegion r(100);
  ASSERT_NE(r.data(), nullptr);
  EXPECT_EQ(r.size(), MappedRegion::kPage);
  EXPECT_EQ(r.page(), MappedRegion::kPage);
  r.advise_huge();  // too small for a huge page: stays as it is
  EXPECT_FALSE(r.huge());
  const auto* b = static_cast<const unsigned char*>(r.data());
  for (size_t i = 0; i < r.size(); ++i) ASSERT_EQ(b[i], 0) << i;
}

TEST(MappedRegion, LargeRegionsAreAlignedToHugePagesAndAskForThemWhenAdvised) {
  MappedRegion r(MappedRegion::kHugePage * 3 + 5);
  EXPECT_EQ(r.size(), MappedRegion::kHugePage * 4);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(r.data()) % MappedRegion::kHugePage, 0u);
  EXPECT_EQ(r.page(), MappedRegion::kPage);
  r.advise_huge();
  EXPECT_TRUE(r.huge());
  EXPECT_EQ(r.page(), MappedRegion::kHugePage);
  EXPECT_EQ(r.round_up(1), MappedRegion::kHugePage);
  const std::string smaps = smaps_of(r.data());
  ASSERT_FALSE(smaps.empty());
  EXPECT_NE(smaps.find(" hg"), std::string::npos) << smaps;  // VmFlags: MADV_HUGEPAGE
  if (thp_enabled()) {
    EXPECT_EQ(field(smaps, "THPeligible:"), "1") << smaps;
  }
}

TEST(MappedRegion, DiscardFromZeroesWholePagesPastTheOffsetOnly) {
  MappedRegion r(MappedRegion::kPage * 8);
  auto* b = static_cast<unsigned char*>(r.data());
  std::memset(b, 0xAB, r.size());
  r.discard_from(MappedRegion::kPage * 2 + 1);  // rounds up: pages 0..2 keep their bytes
  for (size_t i = 0; i < MappedRegion::kPage * 3; ++i) ASSERT_EQ(b[i], 0xAB) << i;
  for (size_t i = MappedRegion::kPage * 3; i < r.size(); ++i) ASSERT_EQ(b[i], 0) << i;
  r.discard_from(r.size() + 1);  // past the end: nothing to do
}

TEST(MappedRegion, AReservationTheKernelRefusesIsAnErrorThatSaysSo) {
  try {
    MappedRegion r(size_t{1} << 62);  // far beyond a 47-bit user address space
    FAIL() << "reserved " << r.size() << " bytes";
  } catch (const std::system_error& e) {
    EXPECT_EQ(e.code(), std::errc::not_enough_memory);
    EXPECT_NE(std::string(e.what()).find("4611686018427387904 bytes"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(MappedRegion(SIZE_MAX), std::system_error);
}

TEST(MappedRegion, MovesOwnership) {
  MappedRegion a(MappedRegion::kPage);
  void* p = a.data();
  MappedRegion b(std::move(a));
  EXPECT_EQ(b.data(), p);
  EXPECT_EQ(a.data(), nullptr);  // NOLINT(bugprone-use-after-move): the moved-from state is empty
  MappedRegion c;
  c = std::move(b);
  EXPECT_EQ(c.data(), p);
  EXPECT_EQ(c.size(), MappedRegion::kPage);
  EXPECT_EQ(MappedRegion(0).data(), nullptr);
}

}  // namespace
}  // namespace egressd::pipeline
