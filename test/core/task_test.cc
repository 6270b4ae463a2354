#include "core/task.h"

#include <stdexcept>
#include <string>

#include "test/testing/co_test.h"

namespace snow {
namespace {

Task<int> Answer() { co_return 42; }
Task<int> Twice() {
  int a = co_await Answer();
  int b = co_await Answer();
  co_return a + b;
}
Task<void> Throws() {
  throw std::runtime_error("boom");
  co_return;
}
Task<std::string> Deep(int depth) {
  if (depth == 0) co_return std::string("bottom");
  std::string below = co_await Deep(depth - 1);
  co_return below;
}

SNOW_CO_TEST(TaskTest, AwaitsNestedTasksAndReturnsValues) {
  int sum = co_await Twice();
  EXPECT_EQ(sum, 84);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskTest, ExceptionPropagatesToTheAwaiter) {
  bool caught = false;
  try {
    co_await Throws();
  } catch (const std::runtime_error& e) {
    caught = std::string(e.what()) == "boom";
  }
  EXPECT_TRUE(caught);
  co_return absl::OkStatus();
}

SNOW_CO_TEST(TaskTest, DeepChainsUseNoStack) {
  // Symmetric transfer: 100,000 nested awaits would overflow the stack otherwise.
  std::string s = co_await Deep(100'000);
  EXPECT_EQ(s, "bottom");
  co_return absl::OkStatus();
}

TEST(TaskTest, UnawaitedTaskIsDestroyedWithoutRunning) {
  static int ran = 0;
  struct Local {
    static Task<void> Body() {
      ++ran;
      co_return;
    }
  };
  { Task<void> t = Local::Body(); }
  EXPECT_EQ(ran, 0);
}

}  // namespace
}  // namespace snow
