// Proves the BPF build pipeline end to end: the CO-RE object built by cmake/BpfObject.cmake loads
// into the running kernel through its skeleton, its CO-RE relocations match the kernel's BTF,
// load-time .rodata reaches the program, it runs under BPF_PROG_TEST_RUN, and unloading leaves
// nothing behind.
#include "egressd/abi/selftest.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/pkt_cls.h>

#include <cstring>

#include <gtest/gtest.h>

#include "common/packet_builder.h"
#include "loader/libbpf_support.h"
#include "loader/skeleton.h"

#include "selftest.skel.h"

namespace egressd {
namespace {

using testing::PacketBuilder;

// Byte offset of a member of a kernel struct, from the running kernel's BTF (independent of the
// program's CO-RE relocation, which libbpf computes in its own code path).
int kernel_member_offset(const char* type, const char* member) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return -1;
  int result = -1;
  const int id = btf__find_by_name_kind(vmlinux, type, BTF_KIND_STRUCT);
  if (id > 0) {
    const btf_type* t = btf__type_by_id(vmlinux, static_cast<__u32>(id));
    const btf_member* m = btf_members(t);
    for (unsigned i = 0; i < btf_vlen(t); ++i, ++m) {
      if (std::strcmp(btf__name_by_offset(vmlinux, m->name_off), member) == 0) {
        result = static_cast<int>(btf_member_bit_offset(t, i) / 8);
      }
    }
  }
  btf__free(vmlinux);
  return result;
}

bool kernel_has_struct(const char* type) {
  btf* vmlinux = btf__load_vmlinux_btf();
  if (vmlinux == nullptr) return false;
  const bool found = btf__find_by_name_kind(vmlinux, type, BTF_KIND_STRUCT) > 0;
  btf__free(vmlinux);
  return found;
}

egressd_selftest_counter sum_counts(int map_fd, uint32_t index) {
  auto raw = loader::lookup_percpu(map_fd, &index, sizeof(egressd_selftest_counter));
  EXPECT_TRUE(raw.has_value()) << raw.error().message();
  egressd_selftest_counter total{};
  if (!raw) return total;
  for (size_t off = 0; off + sizeof(total) <= raw->size(); off += sizeof(total)) {
    egressd_selftest_counter c;
    std::memcpy(&c, raw->data() + off, sizeof(c));
    total.packets += c.packets;
    total.bytes += c.bytes;
  }
  return total;
}

TEST(BpfSelftest, LoadsRelocatesRunsAndUnloads) {
  loader::install_libbpf_logging();
  uint32_t prog_id = 0;
  {
    auto skel = loader::Skeleton<selftest>::open("selftest");
    ASSERT_TRUE(skel) << skel.error().message();
    (*skel)->rodata->egressd_selftest_tag = 0xE6E55Du;
    ASSERT_TRUE(skel->load()) << "load failed (run as root)";

    const int prog_fd = bpf_program__fd((*skel)->progs.egressd_selftest);
    bpf_prog_info info{};
    __u32 len = sizeof(info);
    ASSERT_EQ(bpf_obj_get_info_by_fd(prog_fd, &info, &len), 0);
    prog_id = info.id;

    const auto v4 = IpAddr::parse("10.244.1.10").value();
    const auto v4b = IpAddr::parse("203.0.113.10").value();
    const auto v6 = IpAddr::parse("fd00:244:1::10").value();
    const auto v6b = IpAddr::parse("2001:db8:113::10").value();
    const auto tcp4 =
        PacketBuilder().ethernet(0x0800).ipv4(v4, v4b, 6).tcp(40000, 80).payload(100).finish();
    const auto udp6 =
        PacketBuilder().ethernet(0x86DD).ipv6(v6, v6b, 17).udp(5353, 53).payload(33).finish();
    const auto arp = PacketBuilder().ethernet(0x0806).payload(28).finish();

    auto r = loader::test_run(prog_fd, tcp4);
    ASSERT_TRUE(r) << r.error().message();
    EXPECT_EQ(r->retval, static_cast<uint32_t>(TC_ACT_OK));
    ASSERT_TRUE(loader::test_run(prog_fd, udp6, /*repeat=*/3));
    ASSERT_TRUE(loader::test_run(prog_fd, arp));

    const int map_fd = bpf_map__fd((*skel)->maps.egressd_selftest_counts);
    const auto c4 = sum_counts(map_fd, EGRESSD_SELFTEST_L3_IPV4);
    const auto c6 = sum_counts(map_fd, EGRESSD_SELFTEST_L3_IPV6);
    const auto other = sum_counts(map_fd, EGRESSD_SELFTEST_L3_OTHER);
    EXPECT_EQ(c4.packets, 1u);
    EXPECT_EQ(c4.bytes, tcp4.size());
    EXPECT_EQ(c6.packets, 3u);
    EXPECT_EQ(c6.bytes, 3 * udp6.size());
    EXPECT_EQ(other.packets, 1u);
    EXPECT_EQ(other.bytes, arp.size());

    const egressd_selftest_core& core = (*skel)->bss->egressd_selftest_core_info;
    EXPECT_EQ(static_cast<int>(core.skb_len_offset), kernel_member_offset("sk_buff", "len"));
    EXPECT_EQ(core.has_nf_conn != 0, kernel_has_struct("nf_conn"));
    EXPECT_EQ(core.tag, 0xE6E55Du);
    EXPECT_EQ(core.runs, 5u);
  }
  // The skeleton is gone: the kernel no longer knows the program.
  const int fd = bpf_prog_get_fd_by_id(prog_id);
  EXPECT_LT(fd, 0);
  EXPECT_EQ(errno, ENOENT);
}

TEST(BpfSelftest, OpenErrorsNameTheObject) {
  // Loading twice from one skeleton is a libbpf error; it must come back as a Result, not a crash.
  auto skel = loader::Skeleton<selftest>::open("selftest");
  ASSERT_TRUE(skel);
  ASSERT_TRUE(skel->load());
  const auto again = skel->load();
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message().find("loading BPF object selftest"), std::string::npos);
}

}  // namespace
}  // namespace egressd
