// BatchWriter (include/egressd/batch_writer.h), as the Cilium source uses it: batch sizes,
// generations, the completion marker, and a full queue.
#include "egressd/batch_writer.h"

#include <gtest/gtest.h>

namespace egressd {
namespace {

class FakeSink final : public BatchSink {
 public:
  bool push(RecordBatch&& batch) override {
    if (refuse) return false;
    batches.push_back(std::move(batch));
    return true;
  }
  std::vector<RecordBatch> batches;
  bool refuse = false;
};

FlowRecord record(uint64_t id) {
  FlowRecord r;
  r.entry_id = id;
  r.counters.tx_bytes = id * 10;
  return r;
}

TEST(BatchWriter, BatchesCarrySourceGenerationAndSize) {
  FakeSink sink;
  BatchWriter w(sink, SourceKind::kCilium, 3);
  w.begin(7);
  for (uint64_t i = 1; i <= 7; ++i) w.add(record(i));
  EXPECT_EQ(sink.batches.size(), 2U);  // two full batches pushed as they filled
  w.read_complete(7);
  ASSERT_EQ(sink.batches.size(), 4U);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(sink.batches[i].kind, RecordBatch::Kind::kRecords);
    EXPECT_EQ(sink.batches[i].source, SourceKind::kCilium);
    EXPECT_EQ(sink.batches[i].read_generation, 7U);
  }
  EXPECT_EQ(sink.batches[0].records.size(), 3U);
  EXPECT_EQ(sink.batches[2].records.size(), 1U);
  EXPECT_EQ(sink.batches[2].records[0].entry_id, 7U);
  EXPECT_EQ(sink.batches[3].kind, RecordBatch::Kind::kReadComplete);
  EXPECT_EQ(sink.batches[3].read_generation, 7U);
  EXPECT_TRUE(sink.batches[3].records.empty());
  EXPECT_EQ(w.records_pushed(), 7U);
  w.begin(8);
  w.add(record(9));
  w.flush();
  EXPECT_EQ(sink.batches.back().read_generation, 8U);
  w.flush();  // nothing pending: nothing pushed
  EXPECT_EQ(sink.batches.size(), 5U);
}

TEST(BatchWriter, FullQueueIsCounted) {
  FakeSink sink;
  sink.refuse = true;
  BatchWriter w(sink, SourceKind::kCilium, 2);
  w.begin(1);
  for (uint64_t i = 0; i < 5; ++i) w.add(record(i));
  w.read_complete(1);
  EXPECT_EQ(w.records_lost(), 5U);
  EXPECT_EQ(w.markers_lost(), 1U);
  EXPECT_EQ(w.records_pushed(), 0U);
  sink.refuse = false;
  w.begin(2);
  w.add(record(1));
  w.flush();
  EXPECT_EQ(w.records_pushed(), 1U);
}

}  // namespace
}  // namespace egressd
