// Runs the real snow-echo and snow-load binaries: a short count-limited run must report exactly
// the requested number of round trips, with no errors, plain and over TLS.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tools/load/histogram.h"

extern char** environ;

namespace {

using ::testing::HasSubstr;

// A child process with its stdout on a pipe.
class Child {
 public:
  explicit Child(std::vector<std::string> args) {
    int fds[2];
    if (pipe(fds) != 0) return;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, fds[0]);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    if (posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&actions);
    close(fds[1]);
    out_ = fdopen(fds[0], "r");
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      Wait();
    }
    if (out_ != nullptr) fclose(out_);
  }
  bool started() const { return pid_ > 0 && out_ != nullptr; }
  std::string ReadLine() {
    char line[4096];
    if (fgets(line, sizeof(line), out_) == nullptr) return "";
    return line;
  }
  std::string ReadAll() {
    std::string all;
    for (std::string line = ReadLine(); !line.empty(); line = ReadLine()) all += line;
    return all;
  }
  int Wait() {
    int status = 0;
    if (pid_ > 0 && waitpid(pid_, &status, 0) == pid_) pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  void Signal(int signal) { kill(pid_, signal); }

 private:
  pid_t pid_ = -1;
  FILE* out_ = nullptr;
};

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
  Child echo(echo_args);
  ASSERT_TRUE(echo.started());
  std::string line = echo.ReadLine();
  std::string address = ListeningAddress(line);
  ASSERT_FALSE(address.empty()) << line;
  std::vector<std::string> load_args = {SNOW_LOAD_PATH,    "--address=" + address,
                                        "--messages=5003", "--connections=4",
                                        "--depth=2",       "--json",
                                        "--quiet",         "--snow-shards=1",
                                        "--snow-spin-us=0"};
  if (tls) {
    std::string pin_line = echo.ReadLine();
    const std::string marker = "certificate sha256 ";
    ASSERT_THAT(pin_line, HasSubstr(marker));
    std::string pin = pin_line.substr(pin_line.find(marker) + marker.size(), 64);
    load_args.push_back("--tls");
    load_args.push_back("--pin=" + pin);
  }
  Child load(load_args);
  ASSERT_TRUE(load.started());
  std::string report = load.ReadAll();
  EXPECT_EQ(load.Wait(), 0) << report;
  EXPECT_THAT(report, HasSubstr("\"messages\":5003,"));
  EXPECT_THAT(report, HasSubstr("\"errors\":0,"));
  EXPECT_THAT(report, HasSubstr(tls ? "\"tls\":true" : "\"tls\":false"));
  echo.Signal(SIGTERM);
  EXPECT_EQ(echo.Wait(), 128 + SIGTERM);  // snow::Run's exit code after SIGTERM
}

TEST(LoadGeneratorTest, ReportsTheRequestedMessageCountAgainstTheEchoServer) {
  RunsTheRequestedCount(/*tls=*/false);
}

TEST(LoadGeneratorTest, ReportsTheRequestedMessageCountOverTls) {
  RunsTheRequestedCount(/*tls=*/true);
}

TEST(LoadGeneratorTest, CountsErrorsWhenNothingListens) {
  // Port 1 is privileged: nothing listens there in a test environment.
  Child load({SNOW_LOAD_PATH, "--address=127.0.0.1:1", "--connections=3", "--messages=10", "--json",
              "--quiet", "--snow-shards=1"});
  ASSERT_TRUE(load.started());
  std::string report = load.ReadAll();
  EXPECT_EQ(load.Wait(), 1);
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
