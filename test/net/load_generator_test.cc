// Runs the real snow-echo and snow-load binaries: a short count-limited run must report exactly
// the requested number of round trips, with no errors, plain and over TLS.
#include <signal.h>
#include <sys/wait.h>

#include <string>
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
