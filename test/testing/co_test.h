// File: test/testing/co_test.h
//
// Test helpers: run an actor as a test body, and match absl::Status by code.
//
//   SNOW_CO_TEST(MailboxTest, SelectiveReceiveKeepsUnmatched) {   // body is an actor
//     self.Send(self.pid(), 1);
//     int n = co_await self.Receive<int>();
//     EXPECT_EQ(n, 1);
//     co_return absl::OkStatus();        // an error status or exception fails the test
//   }
//   EXPECT_THAT(status, StatusIs(absl::StatusCode::kNotFound));
//
// SNOW_CO_TEST runs on the deterministic test runtime: one shard, virtual clock (timeouts are
// exact and take no wall time), no spinning. Use RunOnTestRuntime with options for more shards.
#pragma once

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/core/snow.h"

namespace snow::testing {

// One shard, virtual clock, no spin.
RuntimeOptions TestRuntimeOptions();
// A real runtime of `shards` shards (real clock, default spin), threads not pinned so that
// tests running side by side do not fight over CPUs.
RuntimeOptions RealRuntimeOptions(uint32_t shards);

// Runs `fn(Self, args...)` as the main actor of a fresh runtime; returns its exit reason, or
// the runtime's error if it could not start.
template <typename Fn, typename... Args>
absl::Status RunOnTestRuntime(RuntimeOptions options, Fn fn, Args&&... args) {
  absl::StatusOr<std::unique_ptr<Runtime>> runtime = Runtime::Create(options);
  if (!runtime.ok()) return runtime.status();
  (*runtime)->SpawnMain(fn, std::forward<Args>(args)...);
  return (*runtime)->Wait();
}

template <typename Fn>
absl::Status RunOnTestRuntime(Fn fn) {
  return RunOnTestRuntime(TestRuntimeOptions(), fn);
}

MATCHER(IsOk, "is OK") {
  if constexpr (requires { arg.status(); }) {
    if (!arg.ok()) *result_listener << arg.status().ToString();
    return arg.ok();
  } else {
    if (!arg.ok()) *result_listener << arg.ToString();
    return arg.ok();
  }
}

MATCHER_P(StatusIs, code, "has code " + absl::StatusCodeToString(code)) {
  absl::Status status;
  if constexpr (requires { arg.status(); }) {
    status = arg.status();
  } else {
    status = arg;
  }
  *result_listener << status.ToString();
  return status.code() == code;
}

MATCHER_P2(StatusIs, code, substring,
           "has code " + absl::StatusCodeToString(code) + " and a message containing \"" +
               std::string(substring) + "\"") {
  absl::Status status;
  if constexpr (requires { arg.status(); }) {
    status = arg.status();
  } else {
    status = arg;
  }
  *result_listener << status.ToString();
  return status.code() == code &&
         status.message().find(absl::string_view(substring)) != absl::string_view::npos;
}

}  // namespace snow::testing

#define SNOW_CO_TEST(suite, name)                                             \
  static ::snow::Task<absl::Status> suite##_##name##_Body(::snow::Self self); \
  TEST(suite, name) {                                                         \
    EXPECT_THAT(::snow::testing::RunOnTestRuntime(suite##_##name##_Body),     \
                ::snow::testing::IsOk());                                     \
  }                                                                           \
  static ::snow::Task<absl::Status> suite##_##name##_Body([[maybe_unused]] ::snow::Self self)

// In a coroutine test body: records a failure and ends the body when `condition` is false.
#define SNOW_CO_ASSERT(condition)                                     \
  do {                                                                \
    if (!(condition)) {                                               \
      ADD_FAILURE() << "Assertion failed: " #condition;               \
      co_return absl::InternalError("assertion failed: " #condition); \
    }                                                                 \
  } while (false)
