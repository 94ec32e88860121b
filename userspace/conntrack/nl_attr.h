// Inline walker over a stream of netlink attributes, and big-endian payload readers.
//
// Attribute streams (include/uapi/linux/netlink.h: struct nlattr, NLA_ALIGN) are walked with
// exactly the bound checks of libmnl's iterator — mnl_attr_ok() and mnl_attr_next() in libmnl
// src/attr.c — but inline: the out-of-line libmnl calls (iterator, mnl_attr_validate,
// mnl_attr_get_*) cost ~350 ns per conntrack entry, a third of what the kernel spends producing
// it (docs/conntrack.md). The unit tests and the fuzz target check that this walker visits the
// same attributes as mnl_attr_parse_payload() on every input.
#pragma once

#include <linux/netlink.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include <libmnl/libmnl.h>

namespace egressd::conntrack {

// libmnl's MNL_ALIGN, MNL_NLMSG_HDRLEN and MNL_ATTR_HDRLEN, computed in size_t: the macros mix int
// and size_t (`& ~(MNL_ALIGNTO - 1)`), which compilers rightly report as sign conversions.
constexpr size_t nl_align(size_t len) noexcept {
  return (len + MNL_ALIGNTO - 1) & ~size_t{MNL_ALIGNTO - 1};
}
constexpr size_t kNlmsgHdrLen = nl_align(sizeof(nlmsghdr));
constexpr size_t kNlattrHdrLen = nl_align(sizeof(nlattr));
static_assert(kNlmsgHdrLen == 16 && kNlattrHdrLen == 4);

// Calls `fn(type, payload, payload_len)` for each attribute of [data, data + len), with the type
// stripped of NLA_F_NESTED and NLA_F_NET_BYTEORDER (as mnl_attr_get_type()); `fn` returns false
// to reject the stream. Returns true only if the whole stream is attributes: where libmnl's
// iterator stops silently at bytes that do not form one, this says false, since for ctnetlink it
// means the message was cut or forged (the kernel pads every attribute, nla_total_size() in
// lib/nlattr.c). `data` needs no alignment: headers are copied out.
template <typename Fn>
bool for_each_attr(const uint8_t* data, size_t len, Fn&& fn) noexcept {
  while (len >= sizeof(nlattr)) {
    nlattr a;
    std::memcpy(&a, data, sizeof(a));
    if (a.nla_len < sizeof(nlattr) || a.nla_len > len) return false;  // mnl_attr_ok()
    if (!fn(static_cast<uint16_t>(a.nla_type & NLA_TYPE_MASK), data + kNlattrHdrLen,
            static_cast<uint16_t>(a.nla_len - kNlattrHdrLen))) {
      return false;
    }
    const size_t step = nl_align(a.nla_len);  // mnl_attr_next()
    if (step >= len) return true;
    data += step;
    len -= step;
  }
  return len == 0;
}

// Payload readers: callers check the payload's exact size first (the checks mnl_attr_validate()
// makes for MNL_TYPE_U16..U64). 64-bit payloads are only 4-aligned (CTA_COUNTERS_PAD is
// optional), hence memcpy.
inline uint16_t read_be16(const uint8_t* p) noexcept {
  uint16_t v;
  std::memcpy(&v, p, sizeof(v));
  return std::endian::native == std::endian::little ? std::byteswap(v) : v;
}
inline uint32_t read_be32(const uint8_t* p) noexcept {
  uint32_t v;
  std::memcpy(&v, p, sizeof(v));
  return std::endian::native == std::endian::little ? std::byteswap(v) : v;
}
inline uint64_t read_be64(const uint8_t* p) noexcept {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  return std::endian::native == std::endian::little ? std::byteswap(v) : v;
}

}  // namespace egressd::conntrack
