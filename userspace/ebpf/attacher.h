// TC egress attachments of the flow programs, one per interface, and the InterfaceAttacher that
// keeps them in step with the namespace's interfaces (interface_policy.h decides which).
//
// TCX (Linux 6.6) attachments are BPF links: they vanish with their descriptor, so even a killed
// agent leaves nothing behind. The clsact fallback (older kernels) adds a cls_bpf filter with a
// fixed handle and priority through libbpf's bpf_tc_* API, and removes the clsact qdisc only if it
// created it; a killed agent leaves that filter, which the next start replaces (same handle).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "ebpf/interface_policy.h"
#include "ebpf/link_monitor.h"
#include "egressd/common/error.h"
#include "egressd/common/log.h"
#include "egressd/common/self_metrics.h"
#include "egressd/common/unique_fd.h"

namespace egressd::ebpf {

enum class AttachMode : uint8_t { kTcx, kClsact };
[[nodiscard]] std::string_view attach_mode_name(AttachMode mode) noexcept;

// cls_bpf filter identity of the clsact fallback ("egressd" in the handle's letters).
inline constexpr uint32_t kClsactHandle = 0xE6D5;
inline constexpr uint32_t kClsactPriority = 0xE6D;

class TcAttachment {
 public:
  [[nodiscard]] static Result<TcAttachment> attach(AttachMode mode, int prog_fd, int ifindex);
  TcAttachment(TcAttachment&& o) noexcept;
  TcAttachment& operator=(TcAttachment&& o) noexcept;
  TcAttachment(const TcAttachment&) = delete;
  TcAttachment& operator=(const TcAttachment&) = delete;
  ~TcAttachment() { detach(); }

  void detach() noexcept;
  [[nodiscard]] int ifindex() const noexcept { return ifindex_; }

 private:
  TcAttachment(AttachMode mode, int ifindex) : mode_(mode), ifindex_(ifindex) {}
  AttachMode mode_;
  int ifindex_ = 0;
  UniqueFd link_;               // kTcx
  bool attached_ = false;       // kClsact: our filter is in place
  bool created_qdisc_ = false;  // kClsact: the clsact qdisc is ours to remove
};

class InterfaceAttacher {
 public:
  InterfaceAttacher(AttachMode mode, int ethernet_prog_fd, int l3_prog_fd, SelfMetrics& metrics);

  // Attaches to `link` if the policy wants it and it is not attached yet. Errors other than a
  // vanished interface are returned (and counted).
  Status add(const LinkInfo& link);
  // The interface is gone (or left the namespace): drops its attachment.
  void remove(int ifindex);
  // Makes the attachments match `links` (a fresh dump): attaches new ones, drops vanished ones.
  // Returns the first error that was not a vanished interface.
  Status reconcile(const std::vector<LinkInfo>& links);
  void clear();

  [[nodiscard]] size_t attached() const noexcept { return attached_.size(); }
  [[nodiscard]] std::vector<int> attached_ifindexes() const;

 private:
  void update_gauge();

  AttachMode mode_;
  int ethernet_fd_;
  int l3_fd_;
  std::map<int, TcAttachment> attached_;
  Gauge& interfaces_;
  Counter& attach_ok_;
  Counter& attach_errors_;
  Counter& detaches_;
  log::RateLimit error_log_{std::chrono::seconds(10)};
};

}  // namespace egressd::ebpf
