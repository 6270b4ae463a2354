// Runs the real snow-echo and snow-load binaries: a short count-limited run must report exactly
// the requested number of round trips, with no errors, plain and over TLS; and the http, ws and
// ws-broadcast modes against the HTTP and WebSocket examples.
#include <signal.h>
#include <sys/wait.h>

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "snow/tools/child_process/child_process.h"
#include "snow/tools/load/histogram.h"

namespace {

using ::snow::tools::ChildProcess;
using ::testing::HasSubstr;

// A child's exit code, or 128 + the signal that ended it (the shell's convention, which is also
// snow::Run's exit code after a signal).
int ExitCode(ChildProcess& child) {
  absl::StatusOr<int> status = child.Wait();
  if (!status.ok()) return -1;
  return WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
}

// "snow-echo listening on 127.0.0.1:PORT ..." -> "127.0.0.1:PORT"
std::string ListeningAddress(const std::string& line) {
  const std::string marker = "listening on ";
  size_t at = line.find(marker);
  if (at == std::string::npos) return "";
  size_t start = at + marker.size();
  return line.substr(start, line.find(' ', start) - start);
}

void RunsTheRequestedCount(bool tls) {
  std::vector<std::string> echo_args = {SNOW_ECHO_PATH, "--listen=127.0.0.1:0", "--snow-shards=1",
                                        "--snow-spin-us=0"};
  if (tls) echo_args.push_back("--tls");
  absl::StatusOr<ChildProcess> echo = ChildProcess::Start({.argv = echo_args});
  ASSERT_TRUE(echo.ok()) << echo.status();
  absl::StatusOr<std::string> line = echo->ReadLine();
  ASSERT_TRUE(line.ok()) << line.status();
  std::string address = ListeningAddress(*line);
  ASSERT_FALSE(address.empty()) << *line;
  std::vector<std::string> load_args = {SNOW_LOAD_PATH,    "--address=" + address,
                                        "--messages=5003", "--connections=4",
                                        "--depth=2",       "--json",
                                        "--quiet",         "--snow-shards=1",
                                        "--snow-spin-us=0"};
  if (tls) {
    absl::StatusOr<std::string> pin_line = echo->ReadLine();
    ASSERT_TRUE(pin_line.ok()) << pin_line.status();
    const std::string marker = "certificate sha256 ";
    ASSERT_THAT(*pin_line, HasSubstr(marker));
    std::string pin = pin_line->substr(pin_line->find(marker) + marker.size(), 64);
    load_args.push_back("--tls");
    load_args.push_back("--pin=" + pin);
  }
  absl::StatusOr<ChildProcess> load = ChildProcess::Start({.argv = load_args});
  ASSERT_TRUE(load.ok()) << load.status();
  std::string report = load->ReadAll().value_or("");
  EXPECT_EQ(ExitCode(*load), 0) << report;
  EXPECT_THAT(report, HasSubstr("\"messages\":5003,"));
  EXPECT_THAT(report, HasSubstr("\"errors\":0,"));
  EXPECT_THAT(report, HasSubstr(tls ? "\"tls\":true" : "\"tls\":false"));
  echo->Signal(SIGTERM);
  EXPECT_EQ(ExitCode(*echo), 128 + SIGTERM);  // snow::Run's exit code after SIGTERM
}

TEST(LoadGeneratorTest, ReportsTheRequestedMessageCountAgainstTheEchoServer) {
  RunsTheRequestedCount(/*tls=*/false);
}

TEST(LoadGeneratorTest, ReportsTheRequestedMessageCountOverTls) {
  RunsTheRequestedCount(/*tls=*/true);
}

// "http://127.0.0.1:PORT/" or "ws://127.0.0.1:PORT/echo" -> "127.0.0.1:PORT"
std::string UrlAddress(const std::string& line) {
  size_t start = line.find("://");
  if (start == std::string::npos) return "";
  start += 3;
  return line.substr(start, line.find('/', start) - start);
}

// Runs snow-load with `args` against the example server at `server_path`: its JSON report and
// exit code.
std::pair<std::string, int> LoadAgainst(const std::string& server_path,
                                        std::vector<std::string> args) {
  absl::StatusOr<ChildProcess> server = ChildProcess::Start(
      {.argv = {server_path, "--listen=127.0.0.1:0", "--snow-shards=2", "--snow-spin-us=0"}});
  EXPECT_TRUE(server.ok()) << server.status();
  if (!server.ok()) return {"", -1};
  absl::StatusOr<std::string> line = server->ReadLine();
  EXPECT_TRUE(line.ok()) << line.status();
  std::vector<std::string> argv = {SNOW_LOAD_PATH,    "--address=" + UrlAddress(line.value_or("")),
                                   "--json",          "--quiet",
                                   "--snow-shards=2", "--snow-spin-us=0"};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<ChildProcess> load = ChildProcess::Start({.argv = argv});
  EXPECT_TRUE(load.ok()) << load.status();
  if (!load.ok()) return {"", -1};
  std::string report = load->ReadAll().value_or("");
  const int code = ExitCode(*load);
  server->Signal(SIGTERM);
  EXPECT_EQ(ExitCode(*server), 128 + SIGTERM);
  return {report, code};
}

TEST(LoadGeneratorTest, HttpModeCountsPipelinedRequestsAndRefusedOnesAsErrors) {
  auto [report, code] = LoadAgainst(
      SNOW_HTTP_HELLO_PATH, {"--mode=http", "--messages=3001", "--connections=4", "--depth=4"});
  EXPECT_EQ(code, 0) << report;
  EXPECT_THAT(report, HasSubstr("\"messages\":3001,"));
  EXPECT_THAT(report, HasSubstr("\"errors\":0,"));
  // The hello server answers POST with 405: each connection stops at its first and counts it.
  auto [refused, refused_code] = LoadAgainst(
      SNOW_HTTP_HELLO_PATH, {"--mode=http", "--messages=40", "--connections=2", "--method=POST"});
  EXPECT_EQ(refused_code, 1) << refused;
  EXPECT_THAT(refused, HasSubstr("\"FAILED_PRECONDITION\":2"));
}

TEST(LoadGeneratorTest, WsModesCountEchoesAndEveryBroadcastDelivery) {
  auto [echo, code] = LoadAgainst(SNOW_WS_ECHO_PATH, {"--mode=ws", "--messages=2001",
                                                      "--connections=4", "--depth=3", "--size=32"});
  EXPECT_EQ(code, 0) << echo;
  EXPECT_THAT(echo, HasSubstr("\"messages\":2001,"));
  EXPECT_THAT(echo, HasSubstr("\"errors\":0,"));
  // One publisher, four subscribers: each of the 500 messages is delivered four times.
  auto [broadcast, broadcast_code] = LoadAgainst(
      SNOW_WS_ECHO_PATH,
      {"--mode=ws-broadcast", "--messages=500", "--connections=5", "--depth=8", "--size=64"});
  EXPECT_EQ(broadcast_code, 0) << broadcast;
  EXPECT_THAT(broadcast, HasSubstr("\"messages\":2000,"));
  EXPECT_THAT(broadcast, HasSubstr("\"errors\":0,"));
}

TEST(LoadGeneratorTest, CountsErrorsWhenNothingListens) {
  // Port 1 is privileged: nothing listens there in a test environment.
  absl::StatusOr<ChildProcess> load =
      ChildProcess::Start({.argv = {SNOW_LOAD_PATH, "--address=127.0.0.1:1", "--connections=3",
                                    "--messages=10", "--json", "--quiet", "--snow-shards=1"}});
  ASSERT_TRUE(load.ok()) << load.status();
  std::string report = load->ReadAll().value_or("");
  EXPECT_EQ(ExitCode(*load), 1);
  EXPECT_THAT(report, HasSubstr("\"messages\":0,"));
  EXPECT_THAT(report, HasSubstr("\"UNAVAILABLE\":3"));
}

}  // namespace

namespace snow::load {
namespace {

TEST(LatencyHistogramTest, PercentilesAreWithinABucketOfExact) {
  LatencyHistogram h;
  for (uint64_t us = 1; us <= 1000; ++us) h.Record(us * 1000);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  for (double p : {50.0, 90.0, 99.0, 99.9}) {
    double exact = p * 10'000.0;  // ns
    double got = static_cast<double>(h.Percentile(p));
    EXPECT_GE(got, exact) << p;
    EXPECT_LE(got, exact * 1.02) << p;
  }
  EXPECT_EQ(h.Percentile(100), 1'000'000u);
  LatencyHistogram other;
  other.Record(5);
  h.Merge(other);
  EXPECT_EQ(h.count(), 1001u);
  EXPECT_EQ(h.Percentile(0.01), 5u);  // exact below 128 ns
  h.Reset();
  EXPECT_EQ(h.Percentile(50), 0u);
}

}  // namespace
}  // namespace snow::load
