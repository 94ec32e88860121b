// Initial sync of a large cluster from the FAKE API server (tests/fake_kube_apiserver), in a
// child process so this process's memory is the client's alone: seconds until the index is
// ready, bytes per pod indexed, and IP lookup ns — each against two baselines in the same run: the
// same pages fetched the same way and parsed into std::string-based Pod structs and a
// std::unordered_map (the straightforward design), once with simdjson's DOM (the same parser
// library egressd uses, so the difference is the design: streaming into a compact index vs a DOM
// and heap objects) and once with nlohmann-json's DOM (the most common choice).
//   kube_sync_bench [--pods=100000] [--nodes=5000] [--lookups=2000000] [--page-size=500]
#include <malloc.h>
#include <signal.h>
#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <random>
#include <string>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sys/prctl.h>
#include <sys/wait.h>

#include "egressd/common/atomic_snapshot.h"
#include "fake_kube_apiserver.h"
#include "kube/http_client.h"
#include "kube/kube_client.h"
#include "objects.h"

namespace {

using namespace egressd;
using SteadyClock = std::chrono::steady_clock;

size_t heap_in_use() {
  const struct mallinfo2 mi = mallinfo2();
  return mi.uordblks + mi.hblkhd;
}

size_t rss_bytes() {
  // statm: "size resident shared ..." in pages.
  std::ifstream in("/proc/self/statm");
  size_t pages = 0;
  size_t resident = 0;
  if (!(in >> pages >> resident)) return 0;
  return resident * static_cast<size_t>(sysconf(_SC_PAGESIZE));
}

std::string pod_ip4(size_t i) {
  return fmt::format("10.{}.{}.{}", 64 + i / 65536, (i / 256) % 256, i % 256);
}
std::string pod_ip6(size_t i) {
  return fmt::format("fd00:10:{:x}::{:x}", i / 65536, i % 65536);
}

// The child: builds the cluster, serves it, writes the port to `fd`, waits to be killed.
[[noreturn]] void serve(size_t pods, size_t nodes, int fd) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  const auto pki = testing::TestPki::generate();
  testing::ObjectFactory factory;
  testing::FakeKubeApiServer server(pki, {});
  for (size_t n = 0; n < nodes; ++n) {
    testing::NodeSpec spec{fmt::format("node-{}", n),
                           fmt::format("zone-{}", n % 3),
                           "region",
                           {fmt::format("172.16.{}.{}", n / 256, n % 256)}};
    server.preload(testing::Resource::kNodes, "", spec.name, factory.node(spec));
  }
  for (size_t i = 0; i < pods; ++i) {
    testing::PodSpec spec;
    spec.namespace_name = fmt::format("ns-{}", i % 200);
    spec.deployment = fmt::format("app-{}", i % 5000);
    spec.name = fmt::format("{}-5f7d9c8b6d-{:05x}", spec.deployment, i);
    spec.node = fmt::format("node-{}", i % nodes);
    spec.ips = {pod_ip4(i), pod_ip6(i)};
    server.preload(testing::Resource::kPods, spec.namespace_name, spec.name, factory.pod(spec));
  }
  const uint16_t port = server.port();
  (void)!::write(fd, &port, sizeof(port));
  ::pause();
  std::_Exit(0);
}

struct Baseline {
  std::vector<kube::Pod> pods;
  std::unordered_map<IpAddr, size_t, IpAddrHash> by_ip;
};

// The baselines' list: nodes then pods, page by page, each whole body handed to
// `page(resource, body)`, which parses it and returns the continue token ("" at the end).
template <typename Page>
void list_pages(const kube::ApiConfig& cfg, size_t page_size, Page&& page) {
  auto http = kube::HttpClient::create(cfg).value();
  std::string token;
  for (const std::string_view resource : {"nodes", "pods"}) {
    token.clear();
    do {
      std::string target = fmt::format("/api/v1/{}?limit={}", resource, page_size);
      if (!token.empty()) target += "&continue=" + token;
      std::string body;
      auto r = http->get(target, [&](std::string_view d) { return body.append(d), true; }, {});
      if (!r || r->status != 200) throw std::runtime_error("baseline list failed");
      token = page(resource, body);
    } while (!token.empty());
  }
}

void index_by_ip(Baseline& out) {
  for (size_t i = 0; i < out.pods.size(); ++i) {
    for (const auto& ip : out.pods[i].ips) out.by_ip.emplace(ip, i);
  }
}

// The baseline: same pages, same HTTP client, nlohmann's DOM instead of simdjson + the index.
double baseline_sync(const kube::ApiConfig& cfg, size_t page_size, Baseline& out) {
  const auto start = SteadyClock::now();
  list_pages(cfg, page_size, [&](std::string_view resource, const std::string& body) {
    const auto doc = nlohmann::json::parse(body);
    std::string token = doc["metadata"].value("continue", "");
    if (resource == "nodes") return token;
    for (const auto& item : doc["items"]) {
      kube::Pod p;
      const auto& meta = item["metadata"];
      p.name = meta["name"].get<std::string>();
      p.namespace_name = meta["namespace"].get<std::string>();
      p.uid = meta.value("uid", "");
      p.node_name = item["spec"].value("nodeName", "");
      p.phase = item["status"].value("phase", "");
      for (const auto& ip : item["status"]["podIPs"]) {
        p.ips.push_back(IpAddr::parse(ip["ip"].get<std::string>()).value());
      }
      for (const auto& ref : meta.value("ownerReferences", nlohmann::json::array())) {
        if (ref.value("controller", false)) p.owner = {ref["kind"], ref["name"]};
      }
      out.pods.push_back(std::move(p));
    }
    return token;
  });
  index_by_ip(out);
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

// The stronger baseline: the same design, parsed with simdjson's DOM (on-demand parsing would be
// egressd's streaming design again).
double simdjson_dom_sync(const kube::ApiConfig& cfg, size_t page_size, Baseline& out) {
  const auto start = SteadyClock::now();
  simdjson::dom::parser parser;
  const auto text = [](simdjson::dom::element e, const char* key) {
    std::string_view v;
    return e[key].get(v) == simdjson::SUCCESS ? std::string(v) : std::string();
  };
  list_pages(cfg, page_size, [&](std::string_view resource, const std::string& body) {
    const simdjson::dom::element doc = parser.parse(body);
    std::string token = text(doc["metadata"], "continue");
    if (resource == "nodes") return token;
    for (const simdjson::dom::element item : doc["items"].get_array()) {
      kube::Pod p;
      const simdjson::dom::element meta = item["metadata"];
      p.name = text(meta, "name");
      p.namespace_name = text(meta, "namespace");
      p.uid = text(meta, "uid");
      p.node_name = text(item["spec"], "nodeName");
      p.phase = text(item["status"], "phase");
      for (const simdjson::dom::element ip : item["status"]["podIPs"].get_array()) {
        p.ips.push_back(IpAddr::parse(text(ip, "ip")).value());
      }
      simdjson::dom::array refs;
      if (meta["ownerReferences"].get(refs) == simdjson::SUCCESS) {
        for (const simdjson::dom::element ref : refs) {
          bool controller = false;
          if (ref["controller"].get(controller) == simdjson::SUCCESS && controller) {
            p.owner = {text(ref, "kind"), text(ref, "name")};
          }
        }
      }
      out.pods.push_back(std::move(p));
    }
    return token;
  });
  index_by_ip(out);
  return std::chrono::duration<double>(SteadyClock::now() - start).count();
}

template <typename Fn>
double ns_per_lookup(size_t pods, size_t lookups, Fn&& lookup) {
  std::mt19937_64 rng(42);
  std::vector<IpAddr> ips;
  ips.reserve(4096);
  for (size_t i = 0; i < 4096; ++i) {
    const size_t k = rng() % pods;
    ips.push_back(IpAddr::parse(k % 2 == 0 ? pod_ip4(k) : pod_ip6(k)).value());
  }
  size_t found = 0;
  const auto start = SteadyClock::now();
  for (size_t i = 0; i < lookups; ++i) found += lookup(ips[i & 4095]) ? 1U : 0U;
  const double ns = std::chrono::duration<double, std::nano>(SteadyClock::now() - start).count();
  if (found != lookups) throw std::runtime_error("lookup missed a pod");
  return ns / static_cast<double>(lookups);
}

size_t arg(int argc, char** argv, const char* name, size_t def) {
  const std::string prefix = fmt::format("--{}=", name);
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]).starts_with(prefix)) return std::stoull(argv[i] + prefix.size());
  }
  return def;
}

}  // namespace

int main(int argc, char** argv) {
  const size_t pods = arg(argc, argv, "pods", 100000);
  const size_t nodes = arg(argc, argv, "nodes", 5000);
  const size_t lookups = arg(argc, argv, "lookups", 2000000);
  const size_t page_size = arg(argc, argv, "page-size", 500);
  // --verbose=1: the client's debug log (time per list page).
  spdlog::set_level(arg(argc, argv, "verbose", 0) != 0 ? spdlog::level::debug
                                                       : spdlog::level::warn);
  int fds[2];
  if (::pipe(fds) != 0) return 1;
  const pid_t child = ::fork();
  if (child == 0) serve(pods, nodes, fds[1]);
  uint16_t port = 0;
  if (::read(fds[0], &port, sizeof(port)) != sizeof(port)) return 1;
  // The child's PKI is regenerated here from nothing it shares: trust is skipped for the bench.
  kube::ApiConfig cfg;
  cfg.server = fmt::format("https://127.0.0.1:{}", port);
  cfg.insecure_skip_tls_verify = true;
  cfg.token = "fake-token-1";

  const size_t heap0 = heap_in_use();
  const size_t rss0 = rss_bytes();
  SelfMetrics metrics;
  AtomicSnapshot<kube::ClusterIndex> view(
      std::make_shared<const kube::ClusterIndex>(kube::Inventory{}, "", std::vector<IpAddr>{}));
  LocalEndpointsView endpoints;
  kube::KubeClientOptions options;
  options.this_node = "node-0";
  options.page_size = static_cast<uint32_t>(page_size);
  const auto start = SteadyClock::now();
  auto client = kube::KubeClient::create(cfg, options, view, endpoints, metrics).value();
  client->start();
  if (!client->wait_synced(std::chrono::minutes(5))) return 1;
  const double ready_s = std::chrono::duration<double>(SteadyClock::now() - start).count();
  const auto index = view.get();
  client->stop();
  malloc_trim(0);
  const size_t heap1 = heap_in_use();
  const size_t rss1 = rss_bytes();
  // Both lookups read what enrichment reads of a pod: name, namespace and node (egressd's view
  // also resolves the zone and workload through the node record and the string table).
  size_t sink = 0;
  const double lookup_ns = ns_per_lookup(pods, lookups, [&](const IpAddr& ip) {
    const auto pod = index->pod_by_ip(ip);
    if (!pod) return false;
    sink +=
        pod->name.size() + pod->namespace_name.size() + pod->node_name.size() + pod->zone.size();
    return true;
  });

  // The simdjson DOM baseline, then nlohmann's: each measured on its own, the other freed.
  double sj_s = 0;
  double sj_heap = 0;
  size_t sj_pods = 0;
  {
    Baseline sj;
    malloc_trim(0);
    const size_t before = heap_in_use();
    sj_s = simdjson_dom_sync(cfg, page_size, sj);
    sj_heap = static_cast<double>(heap_in_use() - before);
    sj_pods = sj.pods.size();
  }
  malloc_trim(0);
  Baseline base;
  const size_t heap2 = heap_in_use();
  const double base_s = baseline_sync(cfg, page_size, base);
  const size_t heap3 = heap_in_use();
  const double base_ns = ns_per_lookup(pods, lookups, [&](const IpAddr& ip) {
    const auto it = base.by_ip.find(ip);
    if (it == base.by_ip.end()) return false;
    const kube::Pod& p = base.pods[it->second];
    sink += p.name.size() + p.namespace_name.size() + p.node_name.size();
    return true;
  });
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);

  const auto per_pod = [&](size_t bytes) {
    return static_cast<double>(bytes) / static_cast<double>(pods);
  };
  const size_t pages = (pods + page_size - 1) / page_size + (nodes + page_size - 1) / page_size;
  fmt::print(
      "kube_sync_bench: {} pods (dual-stack, full documents), {} nodes, {} list pages of "
      "{} (lookup checksum {})\n",
      pods, nodes, pages, page_size, sink);
  fmt::print("{:<34}{:>14}{:>14}{:>10}{:>14}{:>10}\n", "", "egressd", "simdjson DOM", "ratio",
             "nlohmann DOM", "ratio");
  fmt::print("{:<34}{:>14.3f}{:>14.3f}{:>9.2f}x{:>14.3f}{:>9.2f}x\n", "seconds to ready", ready_s,
             sj_s, sj_s / ready_s, base_s, base_s / ready_s);
  fmt::print("{:<34}{:>14.1f}{:>14.1f}{:>9.2f}x{:>14.1f}{:>9.2f}x\n",
             "ms per list page (ready / pages)", 1000 * ready_s / static_cast<double>(pages),
             1000 * sj_s / static_cast<double>(pages), sj_s / ready_s,
             1000 * base_s / static_cast<double>(pages), base_s / ready_s);
  fmt::print("{:<34}{:>14.0f}{:>14.0f}{:>9.2f}x{:>14.0f}{:>9.2f}x\n",
             "heap bytes per pod (after sync)", per_pod(heap1 - heap0),
             sj_heap / static_cast<double>(pods), sj_heap / static_cast<double>(heap1 - heap0),
             per_pod(heap3 - heap2), per_pod(heap3 - heap2) / per_pod(heap1 - heap0));
  fmt::print("{:<34}{:>14.0f}{:>14}\n", "resident bytes per pod (RSS delta)", per_pod(rss1 - rss0),
             "-");
  fmt::print("{:<34}{:>14.0f}{:>14}\n", "index bytes per pod (accounted)",
             per_pod(index->memory_bytes()), "-");
  fmt::print("{:<34}{:>14.1f}{:>14}{:>10}{:>14.1f}{:>9.2f}x\n", "pod IP lookup ns (random, hits)",
             lookup_ns, "(same map)", "", base_ns, base_ns / lookup_ns);
  if (index->pod_count() != pods || base.pods.size() != pods || sj_pods != pods) {
    fmt::print("MISMATCH: indexed {} / baseline {} of {} pods\n", index->pod_count(),
               base.pods.size(), pods);
    return 1;
  }
  return 0;
}
