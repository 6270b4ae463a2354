// File: tools/examples/tutorial/two_nodes.h
//
// How the tutorial's two-node programs run as one command: main forks before any runtime
// exists; the child process runs the second node on a free port and writes its node name to a
// pipe; the parent reads the name and runs the first node, which connects to it. When the first
// is done, the second is stopped as an operator would stop it (SIGTERM: the runtime stops every
// actor and exits with 143, which counts as success here, as does the signal itself when the
// child had already left its runtime). In a real deployment each node is
// started on its own (tools/snow-node, or your program on each host).
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace tutorial {

// Writes "`node`\n" to `fd` and closes it: a few bytes into an empty pipe, which do not block.
inline void ReportNode(int fd, const std::string& node) {
  std::string line = node + "\n";
  ssize_t written = ::write(fd, line.data(), line.size());
  (void)written;
  ::close(fd);
}

// Runs second(fd) in a child process and first(node name the child reported) in this one, then
// stops the child if it still runs. The exit code is first's, or the child's if first succeeded.
template <typename Second, typename First>
int RunTwoNodes(Second second, First first) {
  int fds[2];
  if (::pipe(fds) != 0) {
    std::perror("pipe");
    return 1;
  }
  std::fflush(stdout);
  pid_t child = ::fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    ::close(fds[0]);
    std::exit(second(fds[1]));
  }
  ::close(fds[1]);
  std::string node;
  char c = 0;
  while (::read(fds[0], &c, 1) == 1 && c != '\n') node.push_back(c);
  ::close(fds[0]);
  int code = 1;
  if (node.empty()) {
    std::fprintf(stderr, "the second node did not start\n");
  } else {
    code = first(node);
  }
  ::kill(child, SIGTERM);  // harmless if the child has ended: it is not reaped yet
  int status = 0;
  ::waitpid(child, &status, 0);
  // Stopped by our SIGTERM: through the runtime (143), or, if the child was already past its
  // runtime and on its way out, by the signal itself.
  const bool stopped = (WIFEXITED(status) && WEXITSTATUS(status) == 128 + SIGTERM) ||
                       (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
  int child_code = stopped ? 0 : WIFEXITED(status) ? WEXITSTATUS(status) : 1;
  return code != 0 ? code : child_code;
}

}  // namespace tutorial
