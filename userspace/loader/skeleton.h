// Skeleton<S>: RAII ownership of a bpftool-generated libbpf skeleton, with the lifecycle
// open -> (set .rodata / map sizes) -> load -> attach, each step returning a Result that names the
// program and the errno. Destruction detaches links and unloads everything. Every BPF object of
// egressd is loaded through it; include this header before the generated `<name>.skel.h`
// (.clang-format orders skeletons last).
#pragma once

#include <bpf/libbpf.h>

#include <cerrno>
#include <string>
#include <utility>

#include "egressd/common/error.h"

// libbpf's own declaration (libbpf.h), repeated outside the system header: the clang analyzer
// assumes a function declared in a system header never frees memory, so it reported the
// generated skeletons' error path — calloc, then bpf_object__destroy_skeleton() on failure — as a
// leak. The most recent declaration is what it looks at; this one tells it the truth.
extern "C" void bpf_object__destroy_skeleton(struct bpf_object_skeleton* s);

namespace egressd::loader {

template <typename S>
class Skeleton {
 public:
  // `name` is used in error messages (the program family, e.g. "selftest").
  [[nodiscard]] static Result<Skeleton> open(std::string name) {
    errno = 0;
    S* skel = S::open();
    if (skel == nullptr) {
      const int err = errno != 0 ? errno : EINVAL;
      return fail_errno("opening BPF object " + name, err);
    }
    return Skeleton(skel, std::move(name));
  }

  Skeleton(Skeleton&& o) noexcept
      : skel_(std::exchange(o.skel_, nullptr)), name_(std::move(o.name_)) {}
  Skeleton& operator=(Skeleton&& o) noexcept {
    if (this != &o) {
      reset();
      skel_ = std::exchange(o.skel_, nullptr);
      name_ = std::move(o.name_);
    }
    return *this;
  }
  Skeleton(const Skeleton&) = delete;
  Skeleton& operator=(const Skeleton&) = delete;
  ~Skeleton() { reset(); }

  // Verifies and loads every program and creates the maps (CO-RE relocations happen here).
  [[nodiscard]] Status load() {
    if (const int err = S::load(skel_); err != 0) {
      return fail_errno("loading BPF object " + name_ + " (verifier log at debug level)", -err);
    }
    return {};
  }

  [[nodiscard]] S* operator->() const noexcept { return skel_; }
  [[nodiscard]] S* get() const noexcept { return skel_; }

 private:
  Skeleton(S* skel, std::string name) : skel_(skel), name_(std::move(name)) {}
  void reset() noexcept {
    if (skel_ != nullptr) S::destroy(std::exchange(skel_, nullptr));
  }

  S* skel_ = nullptr;
  std::string name_;
};

}  // namespace egressd::loader
