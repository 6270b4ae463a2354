#include "snow/tools/node/node_process.h"

#include <signal.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "snow/core/status.h"

namespace snow::node_services {

absl::StatusOr<NodeProcess> NodeProcess::Start(const Options& options) {
  std::vector<std::string> args = {options.binary, absl::StrCat("--name=", options.name),
                                   absl::StrCat("--cookie=", options.cookie),
                                   absl::StrCat("--snow-shards=", options.shards)};
  for (const std::string& c : options.connect) args.push_back(absl::StrCat("--connect=", c));
  if (options.tick_ms > 0) args.push_back(absl::StrCat("--tick-ms=", options.tick_ms));
  if (!options.tls) args.push_back("--no-tls");
  if (!options.mesh) args.push_back("--no-mesh");
  for (const std::string& a : options.extra_args) args.push_back(a);

  absl::StatusOr<tools::ChildProcess> process =
      tools::ChildProcess::Start({.argv = std::move(args),
                                  .cpu = options.cpu,
                                  .kill_signal = SIGKILL,
                                  .read_stderr = options.read_logs});
  if (!process.ok()) return process.status();
  NodeProcess node(std::move(*process));
  absl::StatusOr<std::string> up = node.WaitForLine("up ", options.start_timeout);
  if (!up.ok()) {
    return absl::UnavailableError(
        absl::StrCat("snow-node ", options.name, " did not start: ", up.status().ToString()));
  }
  node.name_ = up->substr(3);
  return node;
}

absl::StatusOr<std::string> NodeProcess::WaitForLine(std::string_view prefix,
                                                     absl::Duration timeout) {
  absl::Time deadline = absl::Now() + timeout;
  for (;;) {
    SNOW_ASSIGN_OR_RETURN(std::string line, ReadLine(deadline - absl::Now()));
    if (line.starts_with(prefix)) return line;
  }
}

}  // namespace snow::node_services
