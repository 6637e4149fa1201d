#include "berth/store/log_cap.hpp"

#include <gtest/gtest.h>

namespace berth::store {
namespace {

TEST(LogCap, KeepsWhatFitsThenMarksOnce) {
  auto all = cap_log_lines(0, {9, 9}, 100);
  EXPECT_EQ(all.keep, 2u);
  EXPECT_FALSE(all.add_marker);
  EXPECT_EQ(all.new_total, 20);  // each line counts its newline

  auto cut = cap_log_lines(80, {9, 9, 9}, 100);
  EXPECT_EQ(cut.keep, 2u);
  EXPECT_TRUE(cut.add_marker);
  EXPECT_EQ(cut.new_total, 101);

  auto after = cap_log_lines(101, {1}, 100);
  EXPECT_EQ(after.keep, 0u);
  EXPECT_FALSE(after.add_marker) << "the marker is stored once";
  EXPECT_EQ(after.new_total, 101);
}

TEST(LogCap, ExactlyAtTheCapIsKept) {
  auto c = cap_log_lines(0, {99}, 100);
  EXPECT_EQ(c.keep, 1u);
  EXPECT_FALSE(c.add_marker);
  EXPECT_EQ(log_cap_marker(100),
            "log truncated: this log reached its limit of 100 bytes; later output was dropped");
}

}  // namespace
}  // namespace berth::store
