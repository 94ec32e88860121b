// The Kubernetes name syntax (k8s.io/apimachinery/pkg/util/validation) egressd holds objects to.
#include "egressd/common/kube_names.h"

#include <string>

#include <gtest/gtest.h>

namespace egressd::kube {
namespace {

TEST(KubeNames, DnsLabel) {
  EXPECT_TRUE(is_dns_label("kube-system"));
  EXPECT_TRUE(is_dns_label("a"));
  EXPECT_TRUE(is_dns_label("0team"));
  EXPECT_TRUE(is_dns_label(std::string(63, 'a')));
  EXPECT_FALSE(is_dns_label(std::string(64, 'a')));
  EXPECT_FALSE(is_dns_label(""));
  EXPECT_FALSE(is_dns_label("-a"));
  EXPECT_FALSE(is_dns_label("a-"));
  EXPECT_FALSE(is_dns_label("Team"));
  EXPECT_FALSE(is_dns_label("a.b"));
  EXPECT_FALSE(is_dns_label(std::string("a\0b", 3)));
}

// IsDNS1123Subdomain caps the whole name at 253, not each part at 63: a Job's generated pod
// name (cronjob name + schedule suffix + job hash + pod hash) is often longer than 63 with no dot.
TEST(KubeNames, DnsSubdomainPartsAreNotCappedAt63) {
  const std::string long_pod =
      "nightly-warehouse-export-to-bigquery-with-retention-policy-28937460-5k2x7-abcde-"
      "0123456789";
  ASSERT_GT(long_pod.size(), 63U);
  EXPECT_TRUE(is_dns_subdomain(long_pod));
  EXPECT_TRUE(is_dns_subdomain(std::string(253, 'a')));
  EXPECT_FALSE(is_dns_subdomain(std::string(254, 'a')));
  EXPECT_TRUE(is_dns_subdomain("ip-10-0-1-5.eu-west-1.compute.internal"));
  EXPECT_TRUE(is_dns_subdomain(std::string(100, 'a') + "." + std::string(100, 'b')));
}

TEST(KubeNames, DnsSubdomainRefusals) {
  EXPECT_FALSE(is_dns_subdomain(""));
  EXPECT_FALSE(is_dns_subdomain("a..b"));
  EXPECT_FALSE(is_dns_subdomain(".a"));
  EXPECT_FALSE(is_dns_subdomain("a."));
  EXPECT_FALSE(is_dns_subdomain("a.-b"));
  EXPECT_FALSE(is_dns_subdomain("Node_1"));
  EXPECT_FALSE(is_dns_subdomain("node\t1"));
  EXPECT_FALSE(is_dns_subdomain(std::string("web\0x", 5)));
}

TEST(KubeNames, LabelValue) {
  EXPECT_TRUE(is_label_value(""));
  EXPECT_TRUE(is_label_value("eu-west-1a"));
  EXPECT_TRUE(is_label_value("A_b.c-9"));
  EXPECT_TRUE(is_label_value(std::string(63, 'z')));
  EXPECT_FALSE(is_label_value(std::string(64, 'z')));
  EXPECT_FALSE(is_label_value("_a"));
  EXPECT_FALSE(is_label_value("a."));
  EXPECT_FALSE(is_label_value("eu-1a\ninfo"));
}

TEST(KubeNames, Kind) {
  EXPECT_TRUE(is_kind("ReplicaSet"));
  EXPECT_TRUE(is_kind("V1Thing2"));
  EXPECT_FALSE(is_kind(""));
  EXPECT_FALSE(is_kind("2Thing"));
  EXPECT_FALSE(is_kind("Replica Set"));
  EXPECT_FALSE(is_kind("Replica-Set"));
}

}  // namespace
}  // namespace egressd::kube
