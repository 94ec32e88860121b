// MappedRegion: a private anonymous mapping of fixed size for a table's large arrays.
//
// The address space is reserved up front and the kernel commits pages (zero-filled) on first
// touch, so a table reserves room for its maximum size without using it, and grows without ever
// moving or copying its entries. A region of 2 MiB or more is aligned to 2 MiB and asks for
// transparent huge pages when its owner says it has grown large enough to use them (advise_huge();
// MADV_HUGEPAGE, which THP's default `madvise` mode honours): a million-key table spans ~100 MB,
// and with 4 KiB pages nearly every lookup would also miss the TLB — a two-level page walk in a
// virtual machine (docs/pipeline.md, "Tables"). A small table stays in 4 KiB pages, so an idle
// shard does not hold a 2 MiB page per table. Where THP is off the region works the same.
#pragma once

#include <cstddef>

namespace egressd::pipeline {

class MappedRegion {
 public:
  static constexpr size_t kPage = 4096;
  static constexpr size_t kHugePage = size_t{2} << 20;

  MappedRegion() noexcept = default;
  // Reserves `bytes` (rounded up to 4 KiB, or to 2 MiB from 2 MiB on); throws std::system_error
  // (errno and size in its message) if the kernel refuses the address space.
  explicit MappedRegion(size_t bytes);
  ~MappedRegion();
  MappedRegion(MappedRegion&& other) noexcept;
  MappedRegion& operator=(MappedRegion&& other) noexcept;
  MappedRegion(const MappedRegion&) = delete;
  MappedRegion& operator=(const MappedRegion&) = delete;

  [[nodiscard]] void* data() const noexcept { return base_; }
  [[nodiscard]] size_t size() const noexcept { return size_; }
  // Asks for huge pages from now on (a region under 2 MiB cannot have them: no-op).
  void advise_huge() noexcept;
  // Back to 4 KiB pages from now on (MADV_NOHUGEPAGE), for a region whose use shrank below one
  // huge page.
  void advise_small() noexcept;
  [[nodiscard]] bool huge() const noexcept { return page_ == kHugePage; }
  // The unit in which the kernel commits this region's memory: kHugePage once advised, else kPage.
  [[nodiscard]] size_t page() const noexcept { return page_; }
  // `bytes` rounded up to whole pages of this region.
  [[nodiscard]] size_t round_up(size_t bytes) const noexcept {
    return (bytes + page_ - 1) / page_ * page_;
  }
  // Gives the pages from `offset` (rounded up to a page) to the end back to the kernel; they read
  // as zero when touched again.
  void discard_from(size_t offset) noexcept;

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
  size_t page_ = kPage;
};

}  // namespace egressd::pipeline
