// Fuzz target: arbitrary bytes as a recv() buffer of ctnetlink messages, through the buffer walker,
// the conntrack message parser, orientation and the record emitter (userspace/conntrack).
//
// The bytes are copied into an allocation of exactly their size, so AddressSanitizer flags any
// read past the end in our code and in libc calls (libmnl itself is not instrumented: it is the
// system's shared library). Invariants checked besides memory safety: every record's local
// endpoint is one of the entry's two sources, at most two records per entry, final records only
// from DESTROY messages, the walk's counts add up, and the inline attribute walker (nl_attr.h)
// visits exactly the attributes libmnl's mnl_attr_parse_payload() visits.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include <libmnl/libmnl.h>

#include "conntrack/ct_parser.h"
#include "conntrack/nl_attr.h"
#include "conntrack/orientation.h"
#include "conntrack/record_emitter.h"
#include "conntrack/source_metrics.h"

namespace {

using namespace egressd;
using namespace egressd::conntrack;

class DiscardSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    for (const FlowRecord& r : batch.records) {
      if (r.mode != CounterMode::kCumulative) std::abort();
    }
    return (++pushes_ % 3) != 0;  // exercise the queue-full path too
  }

 private:
  uint64_t pushes_ = 0;
};

// Addresses of the captured fixtures (tests/fixtures/conntrack): pods and node addresses.
const LocalEndpoints& endpoints() {
  static const LocalEndpoints e(
      {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), *IpAddr::parse("fd00::2")},
      {*IpAddr::parse("10.0.0.3"), *IpAddr::parse("fd00::1"), *IpAddr::parse("127.0.0.1")});
  return e;
}

class CheckingVisitor final : public EntryVisitor {
 public:
  explicit CheckingVisitor(EntryVisitor& next) : next_(next) {}
  void on_entry(const CtEntry& entry, MessageKind kind) override {
    ++entries;
    std::array<FlowRecord, 2> out;
    const Orientation o = orient(entry, endpoints(), kind == MessageKind::kDelete, out);
    if (o.count > 2 || (o.count == 0) == (o.reason == DropReason::kNone)) std::abort();
    for (uint8_t i = 0; i < o.count; ++i) {
      const FlowRecord& r = out[i];
      if (r.key.local != entry.orig.src && r.key.local != entry.reply.src) std::abort();
      if (r.final != (kind == MessageKind::kDelete)) std::abort();
      if (r.key.proto != entry.orig.proto) std::abort();
    }
    if (entry.family != 2 && entry.family != 10) std::abort();
    next_.on_entry(entry, kind);
  }
  size_t entries = 0;

 private:
  EntryVisitor& next_;
};

struct Visits {
  const uint8_t* base;
  std::vector<size_t> offsets;
};

int mnl_visit(const nlattr* attr, void* data) {
  auto* v = static_cast<Visits*>(data);
  v->offsets.push_back(static_cast<size_t>(reinterpret_cast<const uint8_t*>(attr) - v->base));
  return MNL_CB_OK;
}

// The inline walker against libmnl's iterator on the same bytes.
void differential(const uint8_t* data, size_t size) {
  if (size > 65535) return;
  Visits ref{data, {}};
  (void)mnl_attr_parse_payload(data, size, mnl_visit, &ref);
  std::vector<size_t> ours;
  const bool whole = for_each_attr(data, size, [&](uint16_t, const uint8_t* p, uint16_t) {
    ours.push_back(static_cast<size_t>(p - data) - MNL_ATTR_HDRLEN);
    return true;
  });
  if (ours != ref.offsets) std::abort();
  size_t end = 0;
  if (!ref.offsets.empty()) {
    nlattr last;
    std::memcpy(&last, data + ref.offsets.back(), sizeof(last));
    end = ref.offsets.back() + MNL_ALIGN(last.nla_len);
  }
  if (whole != (end >= size)) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static SelfMetrics registry;
  static SourceMetrics metrics(registry);
  static DiscardSink sink;
  static RecordEmitter emitter(sink, metrics, 4);
  static const auto snapshot = std::make_shared<const LocalEndpoints>(endpoints());

  // Exactly `size` bytes (operator new aligns them for nlmsghdr).
  const std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);
  const std::span<const uint8_t> bytes(copy.get(), size);

  emitter.begin(snapshot, 1);
  CheckingVisitor visitor(emitter);
  const WalkResult r = walk_messages(bytes, WalkOptions{}, visitor);
  emitter.flush();
  if (r.entries != visitor.entries) std::abort();
  if (r.entries + r.ignored + r.parse_errors > r.messages + 1) std::abort();
  if (r.done && r.framing_error) std::abort();

  // The same bytes as the payload of one message (nfgenmsg first), and as an attribute stream.
  CtEntry entry;
  (void)parse_ct_payload(bytes, entry);
  differential(copy.get(), size);
  return 0;
}
