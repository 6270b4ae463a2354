// snow-node: a Snow node from the command line, with the built-in services of
// tools/node/services.h (echo, counter, sink, control). For tests, load and the demo.
//
//   snow-node --name=a@127.0.0.1:4370 --cookie=secret
//   snow-node --name=b@127.0.0.1:0 --connect=a@127.0.0.1:4370 --tick-ms=1000 --no-tls
//   snow-node --name=c@127.0.0.1:0 --keep-connected=a@127.0.0.1:4370   # redialed when lost
//
// The cookie may also come from SNOW_COOKIE or --cookie-file (mode 600). Port 0 picks a free
// port. On stdout, one line per event, flushed at once (test harnesses read them):
//   up <name> creation=<n>
//   nodeup <node>
//   nodedown <node> <reason>
//   connect-failed <node> <reason>
// It runs until a Halt message arrives at "control", or SIGINT/SIGTERM.
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/tools/node/services.h"

namespace {

using namespace snow;

struct Args {
  dist::NodeOptions node;
  std::vector<std::string> connect;
  std::string certificate_file;
  std::string private_key_file;
};

void Usage(FILE* out) {
  std::fprintf(
      out,
      "usage: snow-node --name=NAME@HOST:PORT [--cookie=C | --cookie-file=F] "
      "[--connect=NODE]... [--keep-connected=NODE]... [--tick-ms=N] [--socket-buffer=BYTES] "
      "[--no-tls] [--no-mesh] [--certificate=PEM --private-key=PEM] [--ca-file=PEM] "
      "[--name-in-certificate]\n"
      "Hosts a Snow node with the test services (echo, counter, sink); prints up, "
      "nodeup and nodedown lines.\n"
      "  the cookie may also come from the SNOW_COOKIE environment variable\n"
      "  --ca-file verifies peers against those CAs (TLS verify = CA); --name-in-certificate\n"
      "  also requires every certificate to name its node (URI snow://NAME)\n%s",
      RuntimeOptions::kUsage);
}

enum class Parsed { kRun, kHelp, kBad };

Parsed Parse(int argc, char** argv, Args* args) {
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](std::string_view prefix) { return std::string(a.substr(prefix.size())); };
    if (a == "--help" || a == "-h") return Parsed::kHelp;
    if (a.starts_with("--name=")) {
      args->node.name = value("--name=");
    } else if (a.starts_with("--cookie=")) {
      args->node.cookie = value("--cookie=");
    } else if (a.starts_with("--cookie-file=")) {
      args->node.cookie_file = value("--cookie-file=");
    } else if (a.starts_with("--connect=")) {
      args->connect.push_back(value("--connect="));
    } else if (a.starts_with("--keep-connected=")) {
      args->node.keep_connected.push_back(value("--keep-connected="));
    } else if (a.starts_with("--tick-ms=")) {
      int ms = std::atoi(value("--tick-ms=").c_str());
      if (ms < 100) return Parsed::kBad;
      args->node.tick = absl::Milliseconds(ms);
    } else if (a.starts_with("--socket-buffer=")) {
      args->node.socket_buffer_bytes = std::atoi(value("--socket-buffer=").c_str());
      if (args->node.socket_buffer_bytes <= 0) return Parsed::kBad;
    } else if (a == "--no-tls") {
      args->node.tls = false;
    } else if (a == "--no-mesh") {
      args->node.mesh = false;
    } else if (a.starts_with("--certificate=")) {
      args->certificate_file = value("--certificate=");
    } else if (a.starts_with("--private-key=")) {
      args->private_key_file = value("--private-key=");
    } else if (a.starts_with("--ca-file=")) {
      args->node.ca_file = value("--ca-file=");
      args->node.verify = net::TlsVerify::kCa;
    } else if (a == "--name-in-certificate") {
      args->node.name_in_certificate = true;
    } else if (a.starts_with("--snow-")) {
      // runtime options, read by RuntimeOptions::FromArgs
    } else {
      std::fprintf(stderr, "snow-node: unknown argument %s\n", argv[i]);
      return Parsed::kBad;
    }
  }
  if (args->node.name.empty()) {
    std::fprintf(stderr, "snow-node: --name is required\n");
    return Parsed::kBad;
  }
  if (args->certificate_file.empty() != args->private_key_file.empty()) {
    std::fprintf(stderr, "snow-node: --certificate and --private-key go together\n");
    return Parsed::kBad;
  }
  return Parsed::kRun;
}

void Say(const std::string& line) {
  std::fprintf(stdout, "%s\n", line.c_str());
  std::fflush(stdout);
}

Task<absl::Status> Main(Self self, Args args) {
  node_services::RegisterServiceMessages();
  if (!args.certificate_file.empty()) {
    SNOW_CO_ASSIGN_OR_RETURN(
        args.node.certificate,
        net::TlsCertificate::FromPemFiles(args.certificate_file, args.private_key_file));
  }
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, args.node));
  dist::MonitorNodes(self);
  SNOW_CO_RETURN_IF_ERROR(node_services::StartServices(self, self.pid()));
  Say(absl::StrCat("up ", dist::SelfNode(self)));
  for (const std::string& peer : args.connect) {
    absl::Status s = co_await dist::Connect(self, peer);
    if (!s.ok()) Say(absl::StrCat("connect-failed ", peer, " ", s.ToString()));
  }
  for (;;) {
    auto event = co_await self.Receive<dist::NodeUp, dist::NodeDown, node_services::Halt>();
    if (auto* up = std::get_if<dist::NodeUp>(&event)) {
      Say(absl::StrCat("nodeup ", up->node));
    } else if (auto* down = std::get_if<dist::NodeDown>(&event)) {
      Say(absl::StrCat("nodedown ", down->node, " ", down->reason.ToString()));
    } else {
      co_return absl::OkStatus();
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  switch (Parse(argc, argv, &args)) {
    case Parsed::kHelp:
      Usage(stdout);
      return 0;
    case Parsed::kBad:
      Usage(stderr);
      return 2;
    case Parsed::kRun:
      break;
  }
  RuntimeOptions options = RuntimeOptions::FromArgs(argc, argv);
  return snow::Run(options, Main, std::move(args));
}
