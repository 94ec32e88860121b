// The watch-event and list-page parsers on the real wire format, and hostile input.
#include "kube/watch_event.h"

#include <gtest/gtest.h>

namespace egressd::kube {
namespace {

TEST(WatchParser, ModifiedPod) {
  WatchParser p(ObjectKind::kPod);
  const auto ev = p.parse(
      R"({"type":"MODIFIED","object":{"kind":"Pod","apiVersion":"v1","metadata":{"name":"a",)"
      R"("namespace":"ns","resourceVersion":"42"},"spec":{"nodeName":"n1"},)"
      R"("status":{"phase":"Running","podIPs":[{"ip":"10.0.0.1"},{"ip":"fd00::1"}]}}})");
  ASSERT_TRUE(ev.has_value()) << ev.error().message();
  EXPECT_EQ(ev->type, WatchType::kModified);
  EXPECT_EQ(ev->resource_version, "42");
  const Pod& pod = std::get<Pod>(ev->object);
  EXPECT_EQ(pod.name, "a");
  EXPECT_EQ(pod.ips.size(), 2U);
}

TEST(WatchParser, BookmarkAndExpired) {
  WatchParser p(ObjectKind::kNode);
  const auto bm = p.parse(
      R"({"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"777","creationTimestamp":null}}})");
  ASSERT_TRUE(bm.has_value()) << bm.error().message();
  EXPECT_EQ(bm->type, WatchType::kBookmark);
  EXPECT_EQ(bm->resource_version, "777");
  EXPECT_FALSE(bm->initial_events_end);
  // The end of a watch-list's initial events (KEP-3157).
  const auto end = p.parse(
      R"({"type":"BOOKMARK","object":{"kind":"Node","apiVersion":"v1","metadata":{"resourceVersion":"778","creationTimestamp":null,"annotations":{"k8s.io/initial-events-end":"true"}}}})");
  ASSERT_TRUE(end.has_value()) << end.error().message();
  EXPECT_TRUE(end->initial_events_end);
  EXPECT_EQ(end->resource_version, "778");
  EXPECT_FALSE(
      p.parse(
           R"({"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"9","annotations":{"k8s.io/initial-events-end":true}}}})")
          .has_value())
      << "a non-string annotation is a type error";
  const auto gone = p.parse(
      R"j({"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (5)","reason":"Expired","code":410}})j");
  ASSERT_TRUE(gone.has_value()) << gone.error().message();
  EXPECT_EQ(gone->type, WatchType::kError);
  EXPECT_EQ(gone->code, 410);
  EXPECT_EQ(gone->reason, "Expired");
}

TEST(WatchParser, ClearOneLineErrors) {
  WatchParser p(ObjectKind::kPod);
  const std::pair<const char*, const char*> cases[] = {
      {R"({"type":"ADDED","object":{"kind":"Pod",)", "watch event: malformed JSON"},
      {R"({"type":"RENAMED","object":{}})", "unknown event type \"RENAMED\""},
      {R"({"type":"ADDED"})", "object: missing"},
      {R"({"type":"ADDED","object":{"kind":"Node","metadata":{"name":"n"}}})", "expected a Pod"},
      {R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","namespace":"ns"},"status":{"podIP":"10.0.0.256"}}})",
       "invalid IP address \"10.0.0.256\""},
      {R"({"type":"ADDED","object":{"kind":"Pod","metadata":{"name":"a","creationTimestamp":"yesterday"}}})",
       "invalid timestamp"},
      {"\xff\xfe", "malformed JSON"},
      {"", "empty document"},
      {"[1,2]", "expected an object"},
  };
  for (const auto& [line, expected] : cases) {
    const auto ev = p.parse(line);
    ASSERT_FALSE(ev.has_value()) << line;
    const std::string msg = ev.error().message();
    EXPECT_NE(msg.find(expected), std::string::npos) << msg;
    EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  }
}

TEST(ListPage, SkipsInvalidItemsAndReadsContinue) {
  simdjson::dom::parser parser;
  std::vector<std::string> names;
  std::vector<std::string> errors;
  const auto page = parse_list_page(
      parser,
      R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"9","continue":"abc","remainingItemCount":5},"items":[)"
      R"({"metadata":{"name":"a","namespace":"ns"},"status":{"podIP":"10.0.0.1"}},)"
      R"({"metadata":{"name":"b","namespace":"ns"},"status":{"podIP":"nope"}},)"
      R"({"metadata":{"name":"c","namespace":"ns"}}]})",
      ObjectKind::kPod, [&](Pod&& p) { names.push_back(p.name); }, [](Node&&) {},
      [&](const Error& e) { errors.push_back(e.message()); });
  ASSERT_TRUE(page.has_value()) << page.error().message();
  EXPECT_EQ(page->resource_version, "9");
  EXPECT_EQ(page->continue_token, "abc");
  EXPECT_EQ(page->items, 3U);
  EXPECT_EQ(page->invalid_items, 1U);
  EXPECT_EQ(names, (std::vector<std::string>{"a", "c"}));
  ASSERT_EQ(errors.size(), 1U);
  EXPECT_NE(errors[0].find("items[1] (Pod ns/b): status.podIP"), std::string::npos) << errors[0];
}

TEST(ListPage, WrongKindOrNoResourceVersionIsAnError) {
  simdjson::dom::parser parser;
  const auto none = [](auto&&) {};
  const auto err = [](const Error&) {};
  EXPECT_FALSE(parse_list_page(parser, R"({"kind":"NodeList","metadata":{"resourceVersion":"1"}})",
                               ObjectKind::kPod, none, none, err)
                   .has_value());
  EXPECT_FALSE(
      parse_list_page(parser, R"({"kind":"PodList","items":[]})", ObjectKind::kPod, none, none, err)
          .has_value());
}

}  // namespace
}  // namespace egressd::kube
