// FlowLabels: the label set of castai/egressd's flow metrics, kept name for name so existing
// dashboards keep working (docs/metrics.md). src_* is the local endpoint on this node, dst_* the
// real peer; transmit is src -> dst.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace egressd::enrich {

inline constexpr std::array<std::string_view, 13> kLabelNames = {
    "src_ip",        "src_pod",  "src_namespace", "src_node",    "src_zone",   "dst_ip", "dst_pod",
    "dst_namespace", "dst_node", "dst_zone",      "dst_ip_type", "cross_zone", "proto"};

struct FlowLabels {
  std::string src_ip, src_pod, src_namespace, src_node, src_zone;
  std::string dst_ip, dst_pod, dst_namespace, dst_node, dst_zone;
  std::string dst_ip_type;  // "private" | "public"
  std::string cross_zone;   // "true" | "false"
  std::string proto;        // "TCP", "UDP", "ICMP", "ICMPv6", "ANY" or the protocol number

  // Optional labels, off by default for cardinality. Each is exported only when its switch is on,
  // after the 13 above, in the order of for_each(); a new optional label adds a field, a switch
  // and one line there.
  std::string src_workload, dst_workload;  // "deployment/web" (--workload-labels)
  bool with_workload = false;
  std::string dst_dns_name;  // the name the pod resolved the peer from (--ebpf-dns-tracer-enabled)
  bool with_dns_name = false;

  friend bool operator==(const FlowLabels&, const FlowLabels&) = default;

  // Calls fn(name, value) for every exported label: kLabelNames, then the enabled optional ones.
  template <typename Fn>
  void for_each(Fn&& fn) const {
    const auto v = values();
    for (size_t i = 0; i < v.size(); ++i) fn(kLabelNames[i], *v[i]);
    if (with_workload) {
      fn(std::string_view("src_workload"), src_workload);
      fn(std::string_view("dst_workload"), dst_workload);
    }
    if (with_dns_name) fn(std::string_view("dst_dns_name"), dst_dns_name);
  }

  // Label values in kLabelNames order.
  [[nodiscard]] std::array<const std::string*, 13> values() const noexcept {
    return {&src_ip,        &src_pod,  &src_namespace, &src_node,    &src_zone,   &dst_ip, &dst_pod,
            &dst_namespace, &dst_node, &dst_zone,      &dst_ip_type, &cross_zone, &proto};
  }
};

struct FlowLabelsHash {
  size_t operator()(const FlowLabels& l) const noexcept;
};

// castai/egressd's protocol names: 0 ANY, 1 ICMP, 6 TCP, 17 UDP, 58 ICMPv6, else the number.
[[nodiscard]] std::string proto_name(uint8_t proto);

}  // namespace egressd::enrich
