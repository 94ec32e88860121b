// FlowReader against the loaded programs: the double buffer switches and drains without losing a
// packet while programs run on another CPU, and a full buffer loses no byte silently (overflow
// ring, then counted loss). Packets are run with BPF_PROG_TEST_RUN; expected totals are the
// number of runs times the builder's frame sizes.
#include "ebpf/flow_reader.h"

#include <atomic>
#include <chrono>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/packet_builder.h"
#include "flow_fixture.h"

namespace egressd::testing {
namespace {

constexpr size_t kEth = 14;

IpAddr v4(uint32_t host_order) {
  return IpAddr::v4(host_order);
}

std::vector<uint8_t> udp4(const IpAddr& src, const IpAddr& dst, size_t payload) {
  return PacketBuilder()
      .ethernet(0x0800)
      .ipv4(src, dst, 17)
      .udp(1000, 2000)
      .payload(payload)
      .finish();
}

class Collect final : public ebpf::FlowReader::Visitor {
 public:
  void flow(const egressd_flow_key& key, const egressd_flow_counters& c) override {
    auto& t = flows[flow_id(key)];
    t.orig_bytes += c.orig_bytes;
    t.orig_packets += c.orig_packets;
    t.reply_bytes += c.reply_bytes;
    t.reply_packets += c.reply_packets;
    ++visits;
  }
  std::map<FlowId, egressd_flow_counters> flows;
  uint64_t visits = 0;
};

void run(int prog_fd, const std::vector<uint8_t>& frame, uint32_t repeat = 1) {
  auto r = loader::test_run(prog_fd, frame, repeat);
  ASSERT_TRUE(r) << r.error().message();
}

TEST(FlowReader, DrainsTheActiveBufferAndSwitches) {
  auto object = load_flow_object();
  ASSERT_NE(object, nullptr);
  auto reader = ebpf::FlowReader::create(*object);
  ASSERT_TRUE(reader) << reader.error().message();
  const auto a = v4(0x0AF4010A);
  const auto b = v4(0xCB00710A);
  const auto c = v4(0xCB00710B);
  const auto ab = udp4(a, b, 100);
  const auto ac = udp4(a, c, 300);
  run(object->tc_ethernet_fd(), ab, 5);
  run(object->tc_ethernet_fd(), ac, 2);
  EXPECT_EQ((*reader)->active_buffer(), 0);

  Collect first;
  auto d = (*reader)->drain(first);
  ASSERT_TRUE(d) << d.error().message();
  EXPECT_EQ(d->entries, 2u);
  EXPECT_EQ(d->overflow_records, 0u);
  EXPECT_EQ((*reader)->active_buffer(), 1);
  ASSERT_EQ(first.flows.size(), 2u);
  EXPECT_EQ(first.flows[(FlowId{a, b, 17})].orig_bytes, 5 * (ab.size() - kEth));
  EXPECT_EQ(first.flows[(FlowId{a, b, 17})].orig_packets, 5u);
  EXPECT_EQ(first.flows[(FlowId{a, c, 17})].orig_bytes, 2 * (ac.size() - kEth));
  EXPECT_TRUE(read_buffer(object->buffer_map_fd(0)).empty()) << "the drained buffer is empty";

  Collect empty;
  ASSERT_TRUE((*reader)->drain(empty));
  EXPECT_TRUE(empty.flows.empty()) << "a drain counts nothing twice";

  run(object->tc_ethernet_fd(), ab, 3);
  EXPECT_EQ(read_buffer(object->buffer_map_fd(0)).size(), 1u) << "buffer 0 is active again";
  Collect second;
  ASSERT_TRUE((*reader)->drain(second));
  ASSERT_EQ(second.flows.size(), 1u);
  EXPECT_EQ(second.flows[(FlowId{a, b, 17})].orig_packets, 3u);

  auto stats = (*reader)->stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ((*stats)[EGRESSD_FLOW_STAT_EGRESS_PACKETS], 10u);
}

// A writer runs the programs from another thread, without pause, until the reader has drained
// kDrains times, and each drain waits for the writer to have completed a run since the previous
// one: so every drain overlaps a writer that is running, whatever the RCU grace period a drain
// waits for costs on this kernel (a handshake, not a race between two fixed amounts of work). The
// sum of all drains equals what the writer ran, to the packet.
TEST(FlowReader, NoPacketIsLostWhileProgramsRun) {
  auto object = load_flow_object();
  ASSERT_NE(object, nullptr);
  auto reader = ebpf::FlowReader::create(*object);
  ASSERT_TRUE(reader);
  const auto src = v4(0x0AF4010A);
  const auto frame_a = udp4(src, v4(0x0A000001), 64);
  const auto frame_b = udp4(src, v4(0x0A000002), 512);
  constexpr uint32_t kRepeat = 2000;
  constexpr int kDrains = 8;
  std::atomic<uint64_t> runs{0};  // completed runs; even ones ran frame_a, odd ones frame_b
  std::atomic<bool> writer_failed{false};
  std::string writer_error;  // written before writer_failed is set
  // A std::jthread: any early return below stops and joins it instead of terminating.
  std::jthread writer([&](const std::stop_token& stop) {
    for (uint64_t i = 0; !stop.stop_requested(); ++i) {
      auto r = loader::test_run(object->tc_ethernet_fd(), i % 2 == 0 ? frame_a : frame_b, kRepeat);
      if (!r) {
        writer_error = r.error().message();
        writer_failed = true;
        return;
      }
      runs.store(i + 1, std::memory_order_release);
    }
  });
  // Waits until the writer has completed a run after `seen` runs (a 60 s deadline only bounds a
  // hang); false if it failed or never did.
  const auto writer_moved_past = [&](uint64_t seen) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (runs.load(std::memory_order_acquire) <= seen) {
      if (writer_failed || std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::yield();
    }
    return true;
  };
  Collect total;
  for (int d = 0; d < kDrains; ++d) {
    ASSERT_TRUE(writer_moved_past(runs.load(std::memory_order_acquire)))
        << "the writer stopped running before drain " << d << ": " << writer_error;
    ASSERT_TRUE((*reader)->drain(total));
  }
  writer.request_stop();
  writer.join();
  ASSERT_FALSE(writer_failed) << writer_error;
  ASSERT_TRUE((*reader)->drain(total));  // what the last runs left in the active buffer
  const uint64_t n = runs.load();
  const uint64_t runs_a = (n + 1) / 2;
  const uint64_t runs_b = n / 2;
  EXPECT_EQ(total.flows[(FlowId{src, v4(0x0A000001), 17})].orig_packets, runs_a * kRepeat);
  EXPECT_EQ(total.flows[(FlowId{src, v4(0x0A000001), 17})].orig_bytes,
            runs_a * kRepeat * (frame_a.size() - kEth));
  EXPECT_EQ(total.flows[(FlowId{src, v4(0x0A000002), 17})].orig_packets, runs_b * kRepeat);
  EXPECT_EQ(total.flows[(FlowId{src, v4(0x0A000002), 17})].orig_bytes,
            runs_b * kRepeat * (frame_b.size() - kEth));
}

// Beyond the buffer's capacity packets go through the overflow ring with their key: the reader
// still reports every byte.
TEST(FlowReader, FullBufferGoesThroughTheOverflowRing) {
  ebpf::FlowObjectOptions options;
  options.map_entries = 4;
  auto object = load_flow_object(options);
  ASSERT_NE(object, nullptr);
  auto reader = ebpf::FlowReader::create(*object);
  ASSERT_TRUE(reader);
  const auto src = v4(0x0AF4010A);
  uint64_t want_bytes = 0;
  for (uint32_t i = 0; i < 10; ++i) {
    const auto frame = udp4(src, v4(0x0A000100 + i), 10 * i);
    run(object->tc_ethernet_fd(), frame, 2);
    want_bytes += 2 * (frame.size() - kEth);
  }
  Collect got;
  auto d = (*reader)->drain(got);
  ASSERT_TRUE(d);
  EXPECT_EQ(d->entries, 4u);
  EXPECT_EQ(d->overflow_records, 12u) << "6 flows x 2 packets did not fit";
  ASSERT_EQ(got.flows.size(), 10u);
  uint64_t bytes = 0;
  for (const auto& [id, c] : got.flows) {
    EXPECT_EQ(c.orig_packets, 2u) << id.responder.to_string();
    bytes += c.orig_bytes;
  }
  EXPECT_EQ(bytes, want_bytes);
  auto stats = (*reader)->stats();
  ASSERT_TRUE(stats);
  EXPECT_EQ((*stats)[EGRESSD_FLOW_STAT_MAP_FULL], 12u);
  EXPECT_EQ((*stats)[EGRESSD_FLOW_STAT_LOST_PACKETS], 0u);
}

// When the ring is full too, what is lost is counted: packets and bytes.
TEST(FlowReader, FullRingIsCountedAsLost) {
  ebpf::FlowObjectOptions options;
  options.map_entries = 1;
  options.overflow_ring_bytes = 4096;  // one page: 73 records of 48 + 8 bytes
  auto object = load_flow_object(options);
  ASSERT_NE(object, nullptr);
  auto reader = ebpf::FlowReader::create(*object);
  ASSERT_TRUE(reader);
  const auto src = v4(0x0AF4010A);
  constexpr uint32_t kPackets = 200;
  const auto frame0 = udp4(src, v4(0x0A010000), 100);
  run(object->tc_ethernet_fd(), frame0);  // fills the buffer
  for (uint32_t i = 1; i <= kPackets; ++i)
    run(object->tc_ethernet_fd(), udp4(src, v4(0x0A010000 + i), 100));
  const uint64_t l3 = frame0.size() - kEth;  // every frame has the same size
  Collect got;
  auto d = (*reader)->drain(got);
  ASSERT_TRUE(d);
  auto stats = (*reader)->stats();
  ASSERT_TRUE(stats);
  const uint64_t ring = d->overflow_records;
  const uint64_t lost = (*stats)[EGRESSD_FLOW_STAT_LOST_PACKETS];
  EXPECT_GT(ring, 0u);
  EXPECT_GT(lost, 0u);
  EXPECT_EQ(ring + lost, kPackets) << "every packet is in the ring or counted as lost";
  EXPECT_EQ((*stats)[EGRESSD_FLOW_STAT_LOST_BYTES], lost * l3);
  EXPECT_EQ((*stats)[EGRESSD_FLOW_STAT_MAP_FULL], ring);
  EXPECT_EQ(d->entries, 1u);
}

}  // namespace
}  // namespace egressd::testing
