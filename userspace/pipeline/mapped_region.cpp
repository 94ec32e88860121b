#include "pipeline/mapped_region.h"

#include <cerrno>
#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include <sys/mman.h>

namespace egressd::pipeline {

namespace {

// A table's bound (--max-flows, the entry bound) sizes its reservation, so a refusal is a
// configuration the kernel cannot back (e.g. vm.overcommit_memory=2): say which, and how big.
[[noreturn]] void fail(size_t bytes, int err) {
  throw std::system_error(err, std::generic_category(),
                          "reserving " + std::to_string(bytes) +
                              " bytes of address space for a reducer table (lower --max-flows, "
                              "or allow overcommit)");
}

}  // namespace

MappedRegion::MappedRegion(size_t bytes) {
  if (bytes == 0) return;
  if (bytes > SIZE_MAX - 2 * kHugePage) fail(bytes, ENOMEM);
  const bool large = bytes >= kHugePage;
  const size_t unit = large ? kHugePage : kPage;
  size_ = (bytes + unit - 1) / unit * unit;
  // Over-reserve by one huge page so that an aligned start exists, then trim both ends.
  const size_t span = large ? size_ + kHugePage : size_;
  void* p = ::mmap(nullptr, span, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) fail(bytes, errno);
  auto* raw = static_cast<std::byte*>(p);
  auto* start = raw;
  if (large) {
    const auto addr = reinterpret_cast<uintptr_t>(raw);
    start = raw + ((kHugePage - addr % kHugePage) % kHugePage);
    if (start != raw) ::munmap(raw, static_cast<size_t>(start - raw));
    const size_t tail = span - static_cast<size_t>(start - raw) - size_;
    if (tail != 0) ::munmap(start + size_, tail);
  }
  base_ = start;
}

MappedRegion::~MappedRegion() {
  if (base_ != nullptr) ::munmap(base_, size_);
}

MappedRegion::MappedRegion(MappedRegion&& other) noexcept
    : base_(std::exchange(other.base_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      page_(std::exchange(other.page_, kPage)) {}

MappedRegion& MappedRegion::operator=(MappedRegion&& other) noexcept {
  if (this != &other) {
    if (base_ != nullptr) ::munmap(base_, size_);
    base_ = std::exchange(other.base_, nullptr);
    size_ = std::exchange(other.size_, 0);
    page_ = std::exchange(other.page_, kPage);
  }
  return *this;
}

void MappedRegion::advise_huge() noexcept {
  if (base_ == nullptr || huge() || size_ < kHugePage) return;
  // Advice only: without THP (or with THP `never`) the region keeps 4 KiB pages, and the memory
  // figures still count whole huge pages (an overestimate there).
  (void)::madvise(base_, size_, MADV_HUGEPAGE);
  page_ = kHugePage;
}

void MappedRegion::advise_small() noexcept {
  if (base_ == nullptr || !huge()) return;
  (void)::madvise(base_, size_, MADV_NOHUGEPAGE);
  page_ = kPage;
}

void MappedRegion::discard_from(size_t offset) noexcept {
  const size_t from = round_up(offset);
  if (base_ == nullptr || from >= size_) return;
  (void)::madvise(static_cast<std::byte*>(base_) + from, size_ - from, MADV_DONTNEED);
}

}  // namespace egressd::pipeline
