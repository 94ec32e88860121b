// Fuzz target: arbitrary bytes as Cilium conntrack map entries — a key of either family followed
// by a value — through the key parser, every layout's value parser (A-D), the per-CPU stats
// parser, orientation and entry ids (userspace/cilium). Inputs that start with the BTF magic are
// also parsed as a BTF blob and every type in it is offered to the layout detector, which walks
// struct members recursively.
//
// The bytes are copied into an allocation of exactly their size, so AddressSanitizer flags any
// read past the end. Invariants besides memory safety: a checked parser accepts exactly the sizes
// of its structure; an OUT entry's record is the originator's and an IN entry's the responder's,
// with the parsed counters; skipped kinds and zero counters never give a record, merged counters
// give a merged-direction record (total in tx, rx 0); entry ids are deterministic and the OUT and
// IN entries of one tuple differ.
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include <cstdarg>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "cilium/ct_entry.h"
#include "cilium/maps.h"
#include "cilium/orientation.h"

namespace {

using namespace egressd;
using namespace egressd::cilium;

void check(bool ok) {
  if (!ok) std::abort();
}

// Pods and node addresses the fuzzer's dictionary also knows.
const LocalEndpoints& endpoints() {
  static const LocalEndpoints e(
      {*IpAddr::parse("10.0.0.1"), *IpAddr::parse("10.0.0.2"), *IpAddr::parse("fd00::1")},
      {*IpAddr::parse("192.168.1.10"), *IpAddr::parse("fd00::ff")});
  return e;
}

void one_family(Family f, std::span<const uint8_t> data) {
  const size_t ks = key_size(f);
  CtTuple tuple;
  KeyKind kind{};
  if (data.size() < ks) {
    check(!parse_key(f, data, tuple, kind));
    return;
  }
  const auto key = data.first(ks);
  const auto rest = data.subspan(ks);
  check(parse_key(f, key, tuple, kind));
  check(kind == classify_key(tuple.proto, tuple.flags));
  check(!parse_key(f, data.first(ks - 1), tuple, kind) || ks == 0);
  check(parse_key_unchecked(f, key.data(), tuple) == kind);

  const uint64_t id = entry_id(f, key.data(), CounterOrigin::kCtMap);
  check(id == entry_id(f, key.data(), CounterOrigin::kCtMap));
  // The same tuple with the IN bit flipped is another entry.
  std::vector<uint8_t> flipped(key.begin(), key.end());
  flipped[ks - 1] ^= EGRESSD_CILIUM_TUPLE_F_IN;
  check(id != entry_id(f, flipped.data(), CounterOrigin::kCtMap));

  const auto orient_checked = [&](const CtCounters& c) {
    FlowRecord r;
    const Outcome o = orient(tuple, kind, c, endpoints(), r);
    if (o != Outcome::kRecord && o != Outcome::kMerged) return;
    check(kind == KeyKind::kOut || kind == KeyKind::kIn);
    check(!c.all_zero());
    check((o == Outcome::kMerged) == c.merged);
    check(r.key.merged_directions() == c.merged);
    check(r.key.local == (kind == KeyKind::kOut ? tuple.originator : tuple.responder));
    check(r.key.peer == (kind == KeyKind::kOut ? tuple.responder : tuple.originator));
    check(endpoints().classify(r.key.local) != EndpointKind::kOther);
    if (c.merged) {
      // The total in tx, never a split.
      check(r.counters.tx_bytes == c.bytes && r.counters.tx_packets == c.packets);
      check(r.counters.rx_bytes == 0 && r.counters.rx_packets == 0);
    } else {
      check(r.counters.tx_bytes == c.tx_bytes && r.counters.rx_packets == c.rx_packets);
    }
    check(r.mode == CounterMode::kCumulative && !r.final);
  };

  // Every layout's parser on the value bytes.
  for (const Layout layout : {Layout::kA, Layout::kB, Layout::kC, Layout::kD}) {
    CtValue v;
    check(parse_value(layout, rest, v) == (rest.size() == kValueSize));
    if (rest.size() < kValueSize) continue;
    check(parse_value(layout, rest.first(kValueSize), v));
    check(v.counters.merged == !per_direction(layout));
    orient_checked(v.counters);
  }
  // The stats parser: as many CPUs as whole slots.
  if (!rest.empty() && rest.size() % kStatsSlot == 0) {
    CtCounters c;
    check(parse_stats(rest, rest.size() / kStatsSlot, c));
    check(!c.merged);
    orient_checked(c);
  } else {
    CtCounters c;
    check(!parse_stats(rest, rest.size() / kStatsSlot + 1, c));
  }
}

// Map BTF reaches the detector from the kernel (btf__load_from_kernel_by_id()), which refuses a
// type section that is not 4-byte aligned (btf_parse_hdr(): "Unaligned type_off"); libbpf 1.1's
// btf__new() does not check it and then reads misaligned btf_type structs. Apply the kernel's rule
// so the harness does not report libbpf's parser.
bool kernel_would_accept_layout(std::span<const uint8_t> data) {
  if (data.size() < 24) return false;
  uint32_t hdr_len = 0, type_off = 0;
  std::memcpy(&hdr_len, data.data() + 4, 4);
  std::memcpy(&type_off, data.data() + 8, 4);
  return hdr_len % 4 == 0 && type_off % 4 == 0;
}

void btf_blob(std::span<const uint8_t> data) {
  if (!kernel_would_accept_layout(data)) return;
  btf* b = btf__new(data.data(), static_cast<uint32_t>(data.size()));
  if (b == nullptr) return;
  const uint32_t n = btf__type_cnt(b);
  for (uint32_t id = 0; id < n && id < 256; ++id) {
    const auto layout = layout_from_btf(b, id);
    const auto stats = check_stats_btf(b, id);
    check(!(layout.has_value() && stats.has_value()));  // 56 bytes or 32, never both
  }
  btf__free(b);
}

int quiet_libbpf(enum libbpf_print_level, const char*, va_list) {
  return 0;  // libbpf reports every malformed BTF blob on stderr; the fuzzer makes millions
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  libbpf_set_print(quiet_libbpf);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // An exact-size heap copy: reads past the end are ASan errors, not reads of fuzzer memory.
  std::unique_ptr<uint8_t[]> copy(new uint8_t[size == 0 ? 1 : size]);
  if (size != 0) std::memcpy(copy.get(), data, size);
  const std::span<const uint8_t> bytes(copy.get(), size);
  one_family(Family::kIpv4, bytes);
  one_family(Family::kIpv6, bytes);
  if (size >= 2 && bytes[0] == 0x9f && bytes[1] == 0xeb) btf_blob(bytes);
  return 0;
}
