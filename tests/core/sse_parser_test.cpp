#include "berth/core/sse_parser.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace berth {
namespace {

std::vector<SseEvent> all(SseParser& p) {
  std::vector<SseEvent> out;
  while (auto ev = p.next()) out.push_back(*ev);
  return out;
}

TEST(SseParser, EventsWithNamesAndJoinedDataLines) {
  SseParser p;
  p.feed("event: log\ndata: {\"a\":1}\n\ndata: one\ndata: two\n\n");
  auto evs = all(p);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].event, "log");
  EXPECT_EQ(evs[0].data, "{\"a\":1}");
  EXPECT_EQ(evs[1].event, "message");
  EXPECT_EQ(evs[1].data, "one\ntwo");
  EXPECT_EQ(p.buffered(), 0u);
}

TEST(SseParser, WaitsForTheBlankLineAcrossFeeds) {
  SseParser p;
  p.feed("event: end\nda");
  EXPECT_FALSE(p.next());
  p.feed("ta: x\n");
  EXPECT_FALSE(p.next());
  p.feed("\n");
  auto ev = p.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->event, "end");
  EXPECT_EQ(ev->data, "x");
}

TEST(SseParser, CrLfAndCrLineEndsAndNoSpaceAfterTheColon) {
  SseParser p;
  p.feed("event:a\r\ndata:1\r\n\r\nevent: b\rdata: 2\r\r\n");
  auto evs = all(p);
  ASSERT_EQ(evs.size(), 2u);
  EXPECT_EQ(evs[0].event, "a");
  EXPECT_EQ(evs[0].data, "1");
  EXPECT_EQ(evs[1].event, "b");
  EXPECT_EQ(evs[1].data, "2");
}

TEST(SseParser, ACrAtTheEndWaitsForAPossibleLf) {
  SseParser p;
  p.feed("data: x\r\n\r");
  EXPECT_FALSE(p.next());
  p.feed("\n");
  auto ev = p.next();
  ASSERT_TRUE(ev);
  EXPECT_EQ(ev->data, "x");
  EXPECT_FALSE(p.next()) << "the LF completed the CRLF, it is not another blank line";
}

TEST(SseParser, CommentsOtherFieldsAndDatalessFramesAreNotEvents) {
  SseParser p;
  p.feed(": keep-alive\n\nid: 7\nretry: 10\n\nevent: only-a-name\n\ndata\n\n");
  auto evs = all(p);
  ASSERT_EQ(evs.size(), 1u) << "a bare \"data\" line is an empty data field";
  EXPECT_EQ(evs[0].event, "message") << "the name of a dropped frame does not leak";
  EXPECT_EQ(evs[0].data, "");
}

TEST(SseParser, BufferedCountsOnlyWhatIsUnread) {
  SseParser p;
  std::string big(10000, 'x');
  for (int i = 0; i < 3; ++i) p.feed("data: " + big + "\n\n");
  p.feed("data: partial");
  EXPECT_EQ(all(p).size(), 3u);
  EXPECT_EQ(p.buffered(), std::string("data: partial").size());
}

}  // namespace
}  // namespace berth
