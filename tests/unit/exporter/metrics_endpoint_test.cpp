#include "exporter/metrics_endpoint.h"

#include <gtest/gtest.h>

#include "common/inventory_builder.h"
#include "common/manual_clock.h"

namespace egressd::exporter {
namespace {

TEST(MetricsEndpoint, SelfMetricsGroupIntoFamiliesByName) {
  SelfMetrics self;
  self.counter("egressd_records_dropped_total", "Dropped.", {{"reason", "a"}}).inc(2);
  self.gauge("egressd_conntrack_entries", "Entries.").set(12);
  self.counter("egressd_records_dropped_total", "Dropped.", {{"reason", "b"}}).inc(3);
  const auto families = self_metric_families(self);
  ASSERT_EQ(families.size(), 2u);
  EXPECT_EQ(families[0].name, "egressd_records_dropped_total");
  EXPECT_EQ(families[0].type, prometheus::MetricType::Counter);
  ASSERT_EQ(families[0].metric.size(), 2u);
  EXPECT_EQ(families[0].metric[1].label[0].value, "b");
  EXPECT_EQ(families[0].metric[1].counter.value, 3);
  EXPECT_EQ(families[1].type, prometheus::MetricType::Gauge);
  EXPECT_EQ(families[1].metric[0].gauge.value, 12);
}

TEST(MetricsEndpoint, RendersPrometheusTextWithFlowAndSelfMetrics) {
  egressd::testing::ManualClock clock;
  SelfMetrics self;
  ClusterIndexView index(std::make_shared<const kube::ClusterIndex>(
      egressd::testing::two_zone_cluster(), "node-a", std::vector<IpAddr>{}));
  FlowMetrics flows(FlowMetricsOptions{}, index, self, clock);
  auto s = std::make_shared<pipeline::Snapshot>();
  s->flows.push_back({FlowKey{IpAddr::parse("10.244.1.10").value(),
                              IpAddr::parse("10.244.2.10").value(), kProtoTcp},
                      Counters{1234, 5, 678, 4}});
  flows.consume(s);
  const std::string text = render_metrics(self, flows);
  EXPECT_NE(text.find("# TYPE egressd_transmit_bytes_total counter"), std::string::npos);
  EXPECT_NE(text.find("egressd_transmit_bytes_total{src_ip=\"10.244.1.10\",src_pod=\"pod-a\","
                      "src_namespace=\"shop\",src_node=\"node-a\",src_zone=\"zone-a\","
                      "dst_ip=\"10.244.2.10\",dst_pod=\"pod-r\",dst_namespace=\"shop\","
                      "dst_node=\"node-b\",dst_zone=\"zone-b\",dst_ip_type=\"private\","
                      "cross_zone=\"true\",proto=\"TCP\"} 1234"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("egressd_received_packets_total{"), std::string::npos);
  EXPECT_NE(text.find("# TYPE egressd_series gauge"), std::string::npos);
  EXPECT_NE(text.find("egressd_series 1"), std::string::npos);
}

}  // namespace
}  // namespace egressd::exporter
