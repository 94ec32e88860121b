#include "harness/topology.h"

#include <atomic>
#include <sstream>

#include <fmt/format.h>

#include "harness/process.h"

namespace egressd::testing {
namespace {

using namespace cluster;

void ip_batch(const std::string& netns, const std::string& commands) {
  run_checked({"ip", "-batch", "-"}, in_netns_opts(netns, commands));
}

void sysctl(const std::string& netns, const std::vector<std::string>& settings) {
  std::vector<std::string> argv = {"sysctl", "-q", "-w"};
  argv.insert(argv.end(), settings.begin(), settings.end());
  run_checked(argv, in_netns_opts(netns));
}

// A pod namespace: its end of the veth carries the pod's /32 and /128; everything else goes to
// the node. IPv4 uses Calico's trick (a link-local gateway the node answers by proxy ARP); IPv6
// uses the node side's fixed link-local address fe80::1 as gateway.
std::string pod_commands(const PodInfo& pod) {
  return fmt::format(
      "link set lo up\n"
      "addr add {0}/32 dev eth0\n"
      "addr add {1}/128 dev eth0 nodad\n"
      "link set eth0 up\n"
      "route add default via 169.254.1.1 dev eth0 onlink\n"
      "route add ::/0 via fe80::1 dev eth0\n",
      pod.ip4, pod.ip6);
}

std::string node_commands(const Topology& t) {
  std::string c = "link set lo up\n";
  for (const auto& [pod, dev] : {std::pair{kPodA, "veth-a"}, std::pair{kPodB, "veth-b"}}) {
    c += fmt::format(
        "link add {0} type veth peer name eth0 netns {1}\n"
        "addr add fe80::1/64 dev {0} nodad\n"
        "link set {0} up\n"
        "route add {2}/32 dev {0} scope link\n"
        "route add {3}/128 dev {0}\n",
        dev, t.netns_of(pod), pod.ip4, pod.ip6);
  }
  c += fmt::format(
      "link add eth0 type veth peer name eth0 netns {0}\n"
      "addr add {1}/24 dev eth0\n"
      "addr add {2}/64 dev eth0 nodad\n"
      "link set eth0 up\n"
      "route add 10.244.2.0/24 via {3}\n"
      "route add fd00:244:2::/64 via {4}\n",
      t.remote(), kNode1Ip4, kNode1Ip6, kNode2Ip4, kNode2Ip6);
  c += fmt::format(
      "link add wan0 type veth peer name eth0 netns {0}\n"
      "addr add {1}/24 dev wan0\n"
      "addr add {2}/64 dev wan0 nodad\n"
      "link set wan0 up\n"
      "route add default via {3}\n"
      "route add ::/0 via {4}\n",
      t.internet(), kSnatIp4, kSnatIp6, kUplinkGw4, kUplinkGw6);
  return c;
}

// The remote node routes the agent node's pod CIDRs back through it; pod-r's addresses sit on
// its loopback (this kernel has no dummy interfaces), which is all a peer pod needs to be.
std::string remote_commands() {
  return fmt::format(
      "link set lo up\n"
      "addr add {0}/24 dev eth0\n"
      "addr add {1}/64 dev eth0 nodad\n"
      "link set eth0 up\n"
      "addr add {2}/32 dev lo\n"
      "addr add {3}/128 dev lo\n"
      "route add 10.244.1.0/24 via {4}\n"
      "route add fd00:244:1::/64 via {5}\n",
      kNode2Ip4, kNode2Ip6, kPodR.ip4, kPodR.ip6, kNode1Ip4, kNode1Ip6);
}

// The internet knows no route to the pods: replies only come back because the node masquerades.
std::string internet_commands() {
  return fmt::format(
      "link set lo up\n"
      "addr add {0}/24 dev eth0\n"
      "addr add {1}/64 dev eth0 nodad\n"
      "link set eth0 up\n"
      "addr add {2}/32 dev lo\n"
      "addr add {3}/128 dev lo\n",
      kUplinkGw4, kUplinkGw6, kInternetIp4, kInternetIp6);
}

// Services (kube-proxy style DNAT, in prerouting for pods and output for the node itself) and
// masquerade on the uplink. Any NAT rule also makes conntrack track this namespace.
std::string nat_ruleset() {
  std::string services;
  for (const auto& [vip, backend] :
       {std::pair{kVipLocal4, kPodB.ip4}, std::pair{kVipRemote4, kPodR.ip4}}) {
    for (const char* l4 : {"tcp", "udp"}) {
      services += fmt::format("    ip daddr {} {} dport {} dnat ip to {}:{}\n", vip, l4,
                              kServicePort, backend, kBackendPort);
    }
  }
  for (const auto& [vip, backend] :
       {std::pair{kVipLocal6, kPodB.ip6}, std::pair{kVipRemote6, kPodR.ip6}}) {
    for (const char* l4 : {"tcp", "udp"}) {
      services += fmt::format("    ip6 daddr {} {} dport {} dnat ip6 to [{}]:{}\n", vip, l4,
                              kServicePort, backend, kBackendPort);
    }
  }
  return fmt::format(
      "table inet egressd_topo {{\n"
      "  chain services {{\n{}  }}\n"
      "  chain prerouting {{ type nat hook prerouting priority -100; policy accept; "
      "jump services; }}\n"
      "  chain output {{ type nat hook output priority -100; policy accept; jump services; }}\n"
      "  chain postrouting {{ type nat hook postrouting priority 100; policy accept;\n"
      "    oifname \"wan0\" masquerade\n"
      "  }}\n"
      "}}\n",
      services);
}

// Ground truth (ground_truth.h): a counter per (saddr, daddr, l4proto) for every packet the node
// forwards (post-DNAT destination, pre-SNAT source: the accounting contract's view) or sends and
// receives itself. Not counted: loopback (the test's own scrapes of /metrics run there) and IPv6
// neighbour discovery and MLD, link-local control messages that belong to no flow (conntrack
// does not track them either: nf_conntrack_proto_icmpv6.c, noct_valid_new).
std::string truth_ruleset() {
  const char* updates =
      "    icmpv6 type { mld-listener-query, mld-listener-report, mld-listener-done,"
      " nd-router-solicit, nd-router-advert, nd-neighbor-solicit, nd-neighbor-advert,"
      " mld2-listener-report } accept\n"
      "    meta nfproto ipv4 update @v4 { ip saddr . ip daddr . meta l4proto }\n"
      "    meta nfproto ipv6 update @v6 { ip6 saddr . ip6 daddr . meta l4proto }\n";
  return fmt::format(
      "table inet egressd_truth {{\n"
      "  set v4 {{ type ipv4_addr . ipv4_addr . inet_proto; size 65535; flags dynamic; counter; "
      "}}\n"
      "  set v6 {{ type ipv6_addr . ipv6_addr . inet_proto; size 65535; flags dynamic; counter; "
      "}}\n"
      "  chain forward {{ type filter hook forward priority 0; policy accept;\n{0}  }}\n"
      "  chain output {{ type filter hook output priority 0; policy accept;\n"
      "    oifname \"lo\" accept\n{0}  }}\n"
      "  chain input {{ type filter hook input priority 0; policy accept;\n"
      "    iifname \"lo\" accept\n{0}  }}\n"
      "}}\n",
      updates);
}

bool is_offload_feature(const std::string& name) {
  return name.find("segmentation") != std::string::npos || name.find("gro") != std::string::npos ||
         name.find("gso") != std::string::npos || name == "large-receive-offload" ||
         name == "generic-receive-offload";
}

void disable_offloads(const std::string& netns, const std::string& dev) {
  const auto features = enabled_offloads(netns, dev);
  if (features.empty()) {
    return;
  }
  std::vector<std::string> argv = {"ethtool", "-K", dev};
  for (const auto& f : features) {
    argv.push_back(f);
    argv.emplace_back("off");
  }
  run_checked(argv, in_netns_opts(netns));
}

}  // namespace

std::vector<std::string> enabled_offloads(const std::string& netns, const std::string& dev) {
  // Lines look like "\ttx-tcp-segmentation: on" or "rx-gro-hw: off [fixed]".
  std::istringstream lines(run_checked({"ethtool", "-k", dev}, in_netns_opts(netns)));
  std::vector<std::string> on;
  std::string line;
  while (std::getline(lines, line)) {
    const size_t colon = line.find(": ");
    if (colon == std::string::npos) {
      continue;
    }
    const size_t start = line.find_first_not_of(" \t");
    const std::string name = line.substr(start, colon - start);
    const std::string value = line.substr(colon + 2);
    if (value.starts_with("on") && value.find("[fixed]") == std::string::npos &&
        is_offload_feature(name)) {
      on.push_back(name);
    }
  }
  return on;
}

std::string read_sysctl(const std::string& netns, const std::string& key) {
  std::string v = run_checked({"sysctl", "-n", key}, in_netns_opts(netns));
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) {
    v.pop_back();
  }
  return v;
}

Topology::Topology(TopologyOptions options) {
  // Several topologies may coexist in one process: each gets its own instance number.
  static std::atomic<int> instances{0};
  const int instance = instances.fetch_add(1);
  ns_.reserve(5);
  for (const char* suffix : {"node", "pod-a", "pod-b", "remote", "internet"}) {
    ns_.emplace_back(fmt::format("t{}-{}", instance, suffix));
  }
  // Before any link exists, so that every new interface inherits it: no duplicate address
  // detection, addresses are usable at once. (proxy_delay has no namespace default: it is set per
  // pod veth below.)
  for (const auto& ns : ns_) {
    sysctl(ns.name(), {"net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"});
  }
  sysctl(node(), {"net.ipv4.conf.all.rp_filter=0", "net.ipv4.conf.default.rp_filter=0"});

  ip_batch(node(), node_commands(*this));
  ip_batch(pod_a(), pod_commands(cluster::kPodA));
  ip_batch(pod_b(), pod_commands(cluster::kPodB));
  ip_batch(remote(), remote_commands());
  ip_batch(internet(), internet_commands());

  std::vector<std::string> node_settings = {"net.ipv4.ip_forward=1",
                                            "net.ipv6.conf.all.forwarding=1"};
  for (const char* dev : {"veth-a", "veth-b"}) {
    node_settings.push_back(fmt::format("net.ipv4.conf.{}.proxy_arp=1", dev));
    // Without it proxy ARP answers after a random delay of up to 0.8 s.
    node_settings.push_back(fmt::format("net.ipv4.neigh.{}.proxy_delay=0", dev));
  }
  if (options.enable_conntrack_acct) {
    node_settings.emplace_back("net.netfilter.nf_conntrack_acct=1");
  }
  sysctl(node(), node_settings);

  for (const auto& end : veth_ends()) {
    disable_offloads(end.netns, end.dev);
  }
  run_checked({"nft", "-f", "-"}, in_netns_opts(node(), nat_ruleset() + truth_ruleset()));
}

const std::string& Topology::netns_of(const cluster::PodInfo& pod) const {
  if (pod.name == cluster::kPodA.name) {
    return pod_a();
  }
  if (pod.name == cluster::kPodB.name) {
    return pod_b();
  }
  return remote();
}

std::vector<Topology::LinkEnd> Topology::veth_ends() const {
  return {{node(), "veth-a"}, {pod_a(), "eth0"},  {node(), "veth-b"}, {pod_b(), "eth0"},
          {node(), "eth0"},   {remote(), "eth0"}, {node(), "wan0"},   {internet(), "eth0"}};
}

}  // namespace egressd::testing
