#include "exporter/flow_metrics.h"

#include <map>

#include <gtest/gtest.h>

#include "common/inventory_builder.h"
#include "common/manual_clock.h"
#include "common/self_metrics_reader.h"

namespace egressd::exporter {
namespace {

using egressd::testing::two_zone_cluster;

pipeline::FlowDelta delta(const char* local, const char* peer, Counters c,
                          uint8_t proto = kProtoTcp) {
  return {FlowKey{IpAddr::parse(local).value(), IpAddr::parse(peer).value(), proto}, c};
}

std::shared_ptr<const pipeline::Snapshot> snapshot(std::vector<pipeline::FlowDelta> flows) {
  auto s = std::make_shared<pipeline::Snapshot>();
  s->flows = std::move(flows);
  return s;
}

// family name -> (src_pod/dst_ip -> value)
std::map<std::string, std::map<std::string, double>> values(const FlowMetrics& m) {
  std::map<std::string, std::map<std::string, double>> out;
  for (const auto& f : m.collect()) {
    for (const auto& metric : f.metric) {
      std::string src_pod, dst_ip;
      for (const auto& l : metric.label) {
        if (l.name == "src_pod") src_pod = l.value;
        if (l.name == "dst_ip") dst_ip = l.value;
      }
      out[f.name][src_pod + "/" + dst_ip] = metric.counter.value;
    }
  }
  return out;
}

class FlowMetricsTest : public ::testing::Test {
 protected:
  FlowMetricsTest()
      : index_view(std::make_shared<const kube::ClusterIndex>(two_zone_cluster(), "node-a",
                                                              std::vector<IpAddr>{})) {
    options.series_ttl = std::chrono::seconds(60);
    options.enrich.exclude_namespaces = {"kube-system"};
  }
  egressd::testing::ManualClock clock;
  SelfMetrics self;
  FlowMetricsOptions options;
  ClusterIndexView index_view;
};

TEST_F(FlowMetricsTest, CountersAccumulateAcrossSnapshots) {
  FlowMetrics m(options, index_view, self, clock);
  EXPECT_EQ(m.snapshots(), 0u);
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {100, 2, 50, 1})}));
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {10, 1, 5, 1}),
                      delta("10.244.1.11", "203.0.113.10", {7, 1, 9, 1})}));
  EXPECT_EQ(m.snapshots(), 2u);
  const auto v = values(m);
  EXPECT_EQ(v.at("egressd_transmit_bytes_total").at("pod-a/10.244.2.10"), 110);
  EXPECT_EQ(v.at("egressd_received_bytes_total").at("pod-a/10.244.2.10"), 55);
  EXPECT_EQ(v.at("egressd_transmit_packets_total").at("pod-a/10.244.2.10"), 3);
  EXPECT_EQ(v.at("egressd_received_packets_total").at("pod-a/10.244.2.10"), 2);
  EXPECT_EQ(v.at("egressd_transmit_bytes_total").at("pod-b/203.0.113.10"), 7);
}

TEST_F(FlowMetricsTest, MergedDirectionsGoToTheirOwnFamiliesNeverSplit) {
  FlowMetrics m(options, index_view, self, clock);
  auto merged = delta("10.244.1.10", "203.0.113.10", {900, 9, 0, 0});
  merged.key.flags = kFlowMergedDirections;
  m.consume(snapshot({merged, delta("10.244.1.11", "203.0.113.10", {7, 1, 9, 1})}));
  const auto v = values(m);
  EXPECT_EQ(v.at("egressd_transferred_bytes_total").at("pod-a/203.0.113.10"), 900);
  EXPECT_EQ(v.at("egressd_transferred_packets_total").at("pod-a/203.0.113.10"), 9);
  // No transmit/received series for the merged flow: neither the total nor a zero.
  EXPECT_FALSE(v.at("egressd_transmit_bytes_total").contains("pod-a/203.0.113.10"));
  EXPECT_FALSE(v.at("egressd_received_bytes_total").contains("pod-a/203.0.113.10"));
  EXPECT_FALSE(v.at("egressd_transferred_bytes_total").contains("pod-b/203.0.113.10"));
  EXPECT_EQ(v.at("egressd_transmit_bytes_total").at("pod-b/203.0.113.10"), 7);
}

TEST_F(FlowMetricsTest, NoTransferredFamiliesWithoutMergedSources) {
  FlowMetrics m(options, index_view, self, clock);
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {1, 1, 1, 1})}));
  for (const auto& f : m.collect()) EXPECT_EQ(f.name.find("transferred"), std::string::npos);
}

TEST_F(FlowMetricsTest, AllCastaiLabelsArePresentInOrder) {
  FlowMetrics m(options, index_view, self, clock);
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {1, 1, 1, 1})}));
  const auto families = m.collect();
  ASSERT_EQ(families.size(), 4u);
  ASSERT_EQ(families[0].metric.size(), 1u);
  std::vector<std::string> names;
  for (const auto& l : families[0].metric[0].label) names.push_back(l.name);
  EXPECT_EQ(names,
            (std::vector<std::string>{"src_ip", "src_pod", "src_namespace", "src_node", "src_zone",
                                      "dst_ip", "dst_pod", "dst_namespace", "dst_node", "dst_zone",
                                      "dst_ip_type", "cross_zone", "proto"}));
}

TEST_F(FlowMetricsTest, ExcludedNamespacesAreCountedNotExported) {
  FlowMetrics m(options, index_view, self, clock);
  m.consume(snapshot({delta("10.244.1.53", "8.8.8.8", {1, 1, 1, 1}, kProtoUdp)}));
  EXPECT_TRUE(m.collect()[0].metric.empty());
  EXPECT_EQ(egressd::testing::counter_value(self, "egressd_flows_excluded_total"), 1u);
}

TEST_F(FlowMetricsTest, IdleSeriesExpireAfterTheTtl) {
  FlowMetrics m(options, index_view, self, clock);
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {1, 1, 1, 1}),
                      delta("10.244.1.11", "10.244.2.10", {1, 1, 1, 1})}));
  clock.advance(std::chrono::seconds(40));
  m.consume(snapshot({delta("10.244.1.10", "10.244.2.10", {1, 1, 1, 1})}));
  clock.advance(std::chrono::seconds(40));  // pod-b idle for 80 s > 60 s, pod-a for 40 s
  m.consume(snapshot({}));
  const auto v = values(m).at("egressd_transmit_bytes_total");
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v.at("pod-a/10.244.2.10"), 2);
}

TEST_F(FlowMetricsTest, IndexUpdatesRelabelNewDeltas) {
  FlowMetrics m(options, index_view, self, clock);
  auto inv = two_zone_cluster();
  inv.pods.push_back(egressd::testing::make_pod("shop", "pod-new", "node-a", {"10.244.1.99"}));
  index_view.set(
      std::make_shared<const kube::ClusterIndex>(std::move(inv), "node-a", std::vector<IpAddr>{}));
  m.consume(snapshot({delta("10.244.1.99", "10.244.2.10", {5, 1, 0, 0})}));
  EXPECT_EQ(values(m).at("egressd_transmit_bytes_total").at("pod-new/10.244.2.10"), 5);
}

}  // namespace
}  // namespace egressd::exporter
