#include "exporter/http_server.h"

#include <atomic>

#include <gtest/gtest.h>

#include "common/http_get.h"

namespace egressd::exporter {
namespace {

using egressd::testing::http_get;
using egressd::testing::http_request;

TEST(HttpServer, ServesRoutesOnAnEphemeralPort) {
  std::atomic<int> calls{0};
  std::vector<HttpRoute> routes;
  routes.push_back({"/healthz", [] { return HttpResponse{200, "text/plain", "ok\n"}; }});
  routes.push_back({"/readyz", [&] {
                      ++calls;
                      return HttpResponse{503, "text/plain", "not yet\n"};
                    }});
  auto server = HttpServer::start("127.0.0.1", 0, std::move(routes));
  ASSERT_TRUE(server) << server.error().message();
  ASSERT_NE((*server)->port(), 0);

  auto r = http_get((*server)->port(), "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "ok\n");
  r = http_get((*server)->port(), "/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  EXPECT_EQ(calls.load(), 1);
  r = http_get((*server)->port(), "/nope");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  // Routes match their path exactly: no prefix, no other case.
  for (const char* other : {"/healthzX", "/HEALTHZ", "/healthz/x", "/Healthz"}) {
    r = http_get((*server)->port(), other);
    ASSERT_TRUE(r) << other;
    EXPECT_EQ(r->status, 404) << other;
  }
  r = http_request("POST", (*server)->port(), "/healthz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
}

TEST(HttpServer, BusyPortIsAClearError) {
  auto first = HttpServer::start("127.0.0.1", 0, {});
  ASSERT_TRUE(first);
  auto second = HttpServer::start("127.0.0.1", (*first)->port(), {});
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message().find("cannot listen on 127.0.0.1:"), std::string::npos)
      << second.error().message();
}

TEST(HttpServer, BadAddressIsAClearError) {
  auto r = HttpServer::start("localhost", 0, {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), Errc::kInvalidArgument);
  EXPECT_NE(r.error().message().find("\"localhost\""), std::string::npos);
}

}  // namespace
}  // namespace egressd::exporter
