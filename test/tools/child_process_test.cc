// ChildProcess with /bin/sh as the child: output by lines and in full, exit statuses, the
// destructor's signal, CPU confinement and a program that cannot run.
#include "snow/tools/child_process/child_process.h"

#include <signal.h>
#include <sys/wait.h>

#include <string>

#include "gtest/gtest.h"

namespace snow::tools {
namespace {

absl::StatusOr<ChildProcess> Shell(std::string script, int cpu = -1) {
  return ChildProcess::Start({.argv = {"/bin/sh", "-c", std::move(script)}, .cpu = cpu});
}

TEST(ChildProcessTest, ReadsLinesThenTheRestThenTheExitStatus) {
  absl::StatusOr<ChildProcess> child = Shell("echo one; echo two; printf 'three\\nfour'; exit 3");
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_GT(child->pid(), 0);
  EXPECT_EQ(child->ReadLine().value_or("?"), "one");
  EXPECT_EQ(child->ReadAll().value_or("?"), "two\nthree\nfour");
  EXPECT_TRUE(absl::IsUnavailable(child->ReadLine().status()));
  absl::StatusOr<int> status = child->Wait();
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_EQ(WEXITSTATUS(*status), 3);
  EXPECT_FALSE(child->running());
}

TEST(ChildProcessTest, TimesOutWhileTheChildIsSilentAndSignalsEndIt) {
  absl::StatusOr<ChildProcess> child = Shell("exec sleep 30");
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_TRUE(absl::IsDeadlineExceeded(child->ReadLine(absl::Milliseconds(20)).status()));
  EXPECT_TRUE(absl::IsDeadlineExceeded(child->Wait(absl::Milliseconds(20)).status()));
  child->Signal(SIGTERM);
  absl::StatusOr<int> status = child->Wait(absl::Seconds(10));
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_TRUE(WIFSIGNALED(*status));
  EXPECT_EQ(WTERMSIG(*status), SIGTERM);
}

TEST(ChildProcessTest, ConfinesTheChildToOneCpu) {
  absl::StatusOr<ChildProcess> child = Shell("grep Cpus_allowed_list /proc/self/status", /*cpu=*/0);
  ASSERT_TRUE(child.ok()) << child.status();
  EXPECT_EQ(child->ReadLine().value_or("?"), "Cpus_allowed_list:\t0");
}

TEST(ChildProcessTest, AMovedChildIsKilledOnceByItsNewOwner) {
  absl::StatusOr<ChildProcess> child = Shell("exec sleep 30");
  ASSERT_TRUE(child.ok()) << child.status();
  pid_t pid = child->pid();
  {
    ChildProcess owner = std::move(*child);
    EXPECT_FALSE(child->running());
    EXPECT_EQ(owner.pid(), pid);
  }
  // Reaped: the pid is no longer our child.
  EXPECT_EQ(waitpid(pid, nullptr, WNOHANG), -1);
}

TEST(ChildProcessTest, AProgramThatCannotRunIsAnError) {
  absl::StatusOr<ChildProcess> child = ChildProcess::Start({.argv = {"/nonexistent/program"}});
  EXPECT_TRUE(absl::IsNotFound(child.status())) << child.status();
  EXPECT_TRUE(absl::IsInvalidArgument(ChildProcess::Start({}).status()));
}

}  // namespace
}  // namespace snow::tools
