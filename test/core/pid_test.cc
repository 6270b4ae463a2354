#include "snow/core/pid.h"

#include "snow/test/testing/co_test.h"

namespace snow {
namespace {

using ::snow::testing::IsOk;
using ::snow::testing::StatusIs;

TEST(PidTest, TextFormRoundTrips) {
  for (Pid pid :
       {Pid::FromParts(0, 0, 1), Pid::FromParts(0, 3, 42), Pid::FromParts(7, 1023, Pid::kMaxSerial),
        Pid::FromParts(Pid::kMaxNodes - 1, 0, 0)}) {
    absl::StatusOr<Pid> parsed = Pid::Parse(pid.ToString());
    ASSERT_THAT(parsed, IsOk());
    EXPECT_EQ(*parsed, pid) << pid;
  }
  EXPECT_EQ(Pid::FromParts(0, 1, 42).ToString(), "<0.1.42>");
}

TEST(PidTest, LayoutKeepsFieldsApart) {
  Pid p = Pid::FromParts(5, 9, 123456789);
  EXPECT_EQ(p.node(), 5u);
  EXPECT_EQ(p.shard(), 9u);
  EXPECT_EQ(p.serial(), 123456789u);
  EXPECT_FALSE(p.is_local());
  EXPECT_TRUE(Pid::FromParts(0, 9, 1).is_local());
}

TEST(PidTest, ParseRejectsMalformedText) {
  for (const char* bad :
       {"", "<>", "<0.0>", "<0.0.0.0>", "0.0.1", "<a.b.c>", "<0.-1.2>", "<0.+1.2>", "<0.1024.1>",
        "<4096.0.1>", "<0.0.99999999999999999999>", "<0..1>"}) {
    EXPECT_THAT(Pid::Parse(bad), StatusIs(absl::StatusCode::kInvalidArgument)) << bad;
  }
}

}  // namespace
}  // namespace snow
