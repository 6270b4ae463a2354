// snow-soak: a three-node cluster under mixed load for a set time (an hour by default), sampled
// every 10 s, with a verdict at the end. Run by hand (`tools/snow soak`), not in CI.
//
//   snow-soak --minutes=60 --kill-every-s=180 --out=build/soak
//
// Nodes a, b and c are snow-node processes (TLS, a full mesh); this program is a fourth node
// that drives them. For each node it runs, until the time is up:
//   - a stream: rounds of 1,000 numbered SinkItems to its sink, then a SinkQuery; a round must
//     arrive whole and in order;
//   - calls: Square and Delegate (a deferred reply) to its "calls" service;
//   - spawns: a monitored child that reports and is halted (Down, normal), one that aborts
//     (Down, aborted), a linked one that aborts (a trapped Exit), and one the node spawns on the
//     next node for us (SpawnBack);
//   - a watcher: a linked and monitored child that only a lost connection ends.
// Node c is killed (SIGKILL) and restarted under the same name every --kill-every-s; a, b and
// this node live throughout. A hostile client connects to one node every --hostile-every-s and
// sends garbage, nothing, or half a TLS record; the node must close it.
//
// Work that fails because c was killed (it was down when the work began, or was killed since)
// is counted as interrupted; any other failure is a failure. Each sample (RSS, open
// descriptors, live actors, bytes queued to peers, messages) goes to <out>/samples.csv; the
// plot to <out>/soak.svg. The verdict: no crashes, no lost or reordered message of a round the
// kill did not interrupt, no other failure, a noconnection Down and Exit for every kill, every
// hostile connection closed, and the RSS of every process that lives throughout growing by at
// most max(2 MiB, 5 % of its mean) an hour after the warm-up (judged when at least 15 minutes
// follow the warm-up).
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "snow/core/snow.h"
#include "snow/dist/node.h"
#include "snow/dist/spawn.h"
#include "snow/tools/node/node_process.h"
#include "snow/tools/node/services.h"

namespace {

using namespace snow;
using namespace snow::node_services;

struct Options {
  absl::Duration duration = absl::Hours(1);
  absl::Duration kill_every = absl::Minutes(3);
  absl::Duration hostile_every = absl::Seconds(3);
  absl::Duration sample_every = absl::Seconds(10);
  absl::Duration warmup = absl::Minutes(5);
  std::string out = "soak";
  std::string node_binary = SNOW_NODE_PATH;
};

constexpr int kNodes = 3;
constexpr int kKilled = 2;  // c
constexpr const char* kLetters[kNodes] = {"a", "b", "c"};
constexpr uint64_t kRoundItems = 1000;
constexpr absl::Duration kPatience = absl::Seconds(15);  // for any one answer
const std::string kCookie = "soak-cookie";

struct NodeState {
  std::string name;                // fixed once the cluster is up (c keeps its port)
  std::atomic<pid_t> os_pid{0};    // 0 while down
  std::atomic<uint64_t> kills{0};  // bumped before each kill
  std::atomic<bool> down{false};   // killed and not back yet
  std::atomic<uint32_t> incarnation{1};
};

struct Soak {
  Options options;
  std::array<NodeState, kNodes> nodes;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> stream_items{0}, rounds{0}, rounds_interrupted{0}, lost{0}, reordered{0},
      calls{0}, calls_interrupted{0}, spawn_rounds{0}, spawns_interrupted{0}, noconnection_downs{0},
      noconnection_exits{0}, restarts{0}, crashes{0}, hostile{0}, hostile_closed{0},
      hostile_left_open{0}, failures{0};
  std::mutex mutex;  // the first failures, word for word
  std::vector<std::string> failure_lines;

  void Fail(std::string line) {
    ++failures;
    std::lock_guard lock(mutex);
    if (failure_lines.size() < 20) failure_lines.push_back(std::move(line));
    std::fprintf(stderr, "soak: FAILURE %s\n", failure_lines.back().c_str());
  }
};

// What a piece of work saw of the kills when it began.
struct Epoch {
  std::array<uint64_t, kNodes> kills;
  std::array<bool, kNodes> down;
};

Epoch Observe(const Soak& soak) {
  Epoch e;
  for (int i = 0; i < kNodes; ++i) {
    e.down[i] = soak.nodes[i].down.load();
    e.kills[i] = soak.nodes[i].kills.load();
  }
  return e;
}

// A failure against `node` is the kill's doing if the node was down when the work began or has
// been killed since.
bool Interrupted(const Soak& soak, const Epoch& at, int node) {
  return at.down[node] || soak.nodes[node].kills.load() != at.kills[node];
}

// The keeper's answer once the cluster is up, and the sampler's verdict.
struct Outcome {
  absl::Status status;
};
struct Finish {};

Task<absl::Status> AwaitReport(Self self, Pid child, int64_t n) {
  absl::StatusOr<Report> report = co_await self.ReceiveFor<Report>(
      kPatience, [child](const Report& r) { return r.from == child; });
  if (!report.ok()) co_return report.status();
  if (report->n != n) co_return absl::InternalError(absl::StrCat("report ", report->n, " != ", n));
  co_return absl::OkStatus();
}

absl::Status Expect(const absl::Status& reason, absl::StatusCode code, const char* message,
                    const char* what) {
  if (reason.code() == code && reason.message() == message) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(what, " ended with ", reason.ToString()));
}

Task<absl::Status> Streamer(Self self, std::shared_ptr<Soak> soak, int node) {
  const std::string payload(256, 's');
  uint64_t stream = uint64_t{1} << 40;
  while (!soak->stopping) {
    const Epoch at = Observe(*soak);
    const std::string target = soak->nodes[node].name;
    ++stream;
    absl::Status sent = absl::OkStatus();
    for (uint64_t seq = 0; seq < kRoundItems && sent.ok(); ++seq) {
      sent = dist::SendNamed(self, "sink", target, SinkItem{stream, seq, wire::Binary{payload}});
    }
    if (sent.ok()) {
      sent = dist::SendNamed(self, "sink", target, SinkQuery{self.pid(), stream, kRoundItems});
    }
    absl::StatusOr<SinkReport> report = absl::UnknownError("not asked");
    if (!sent.ok()) {
      report = sent;
    } else {
      report = co_await self.ReceiveFor<SinkReport>(
          kPatience, [stream](const SinkReport& r) { return r.stream == stream; });
    }
    const bool whole = report.ok() && report->received == kRoundItems && report->lost == 0 &&
                       report->reordered == 0;
    if (whole) {
      ++soak->rounds;
      soak->stream_items += kRoundItems;
    } else if (Interrupted(*soak, at, node)) {
      ++soak->rounds_interrupted;
    } else if (report.ok()) {
      soak->lost += report->lost;
      soak->reordered += report->reordered;
      soak->Fail(absl::StrCat("stream to ", target, ": ", report->received, " received, ",
                              report->lost, " lost, ", report->reordered, " reordered"));
    } else {
      soak->Fail(absl::StrCat("stream to ", target, ": ", report.status().ToString()));
    }
    co_await Sleep(absl::Milliseconds(100));
  }
  co_return absl::OkStatus();
}

Task<absl::Status> Caller(Self self, std::shared_ptr<Soak> soak, int node) {
  int64_t n = 0;
  while (!soak->stopping) {
    const Epoch at = Observe(*soak);
    const std::string target = soak->nodes[node].name;
    for (int i = 0; i < 50; ++i) {
      ++n;
      absl::StatusOr<int64_t> square =
          co_await dist::Call(self, "calls", target, Square{n}, kPatience);
      absl::StatusOr<int64_t> next = square;
      if (square.ok() && i % 10 == 0) {
        next = co_await dist::Call(self, "calls", target, Delegate{n}, kPatience);
        if (next.ok()) next = *next - 1 + n * n - n;  // Delegate answers n + 1
      }
      if (square.ok() && next.ok() && *square == n * n && *next == n * n) {
        ++soak->calls;
      } else if (Interrupted(*soak, at, node)) {
        ++soak->calls_interrupted;
        break;
      } else {
        soak->Fail(
            absl::StrCat("call to ", target, ": ",
                         square.ok() ? next.status().ToString() : square.status().ToString()));
        break;
      }
    }
    co_await Sleep(absl::Milliseconds(50));
  }
  co_return absl::OkStatus();
}

// One of each kind of remote spawn and ending (see the top of the file).
Task<absl::Status> SpawnRound(Self self, std::string node, std::string other, int64_t n) {
  absl::StatusOr<SpawnedMonitor> child =
      co_await dist::SpawnMonitor(self, node, "snow.node.reporter", self.pid(), n, "soak");
  if (!child.ok()) co_return child.status();
  SNOW_CO_RETURN_IF_ERROR(co_await AwaitReport(self, child->pid, n));
  self.Send(child->pid, Halt{});
  const Ref ref = child->ref;
  absl::StatusOr<Down> down =
      co_await self.ReceiveFor<Down>(kPatience, [ref](const Down& d) { return d.ref == ref; });
  if (!down.ok()) co_return down.status();
  SNOW_CO_RETURN_IF_ERROR(Expect(down->reason, absl::StatusCode::kOk, "", "a halted child"));

  absl::StatusOr<SpawnedMonitor> aborting = co_await dist::SpawnMonitor(
      self, node, "snow.node.reporter", self.pid(), int64_t{-1}, "planned");
  if (!aborting.ok()) co_return aborting.status();
  const Ref aborting_ref = aborting->ref;
  absl::StatusOr<Down> aborted = co_await self.ReceiveFor<Down>(
      kPatience, [aborting_ref](const Down& d) { return d.ref == aborting_ref; });
  if (!aborted.ok()) co_return aborted.status();
  SNOW_CO_RETURN_IF_ERROR(
      Expect(aborted->reason, absl::StatusCode::kAborted, "planned", "a monitored child"));

  absl::StatusOr<Pid> linked =
      co_await dist::SpawnLink(self, node, "snow.node.reporter", self.pid(), int64_t{-1}, "linked");
  if (!linked.ok()) co_return linked.status();
  const Pid linked_pid = *linked;
  absl::StatusOr<Exit> exit = co_await self.ReceiveFor<Exit>(
      kPatience, [linked_pid](const Exit& e) { return e.from == linked_pid; });
  if (!exit.ok()) co_return exit.status();
  SNOW_CO_RETURN_IF_ERROR(
      Expect(exit->reason, absl::StatusCode::kAborted, "linked", "a linked child"));

  // A named request: g++ 12 destroys an owning temporary in a co_await expression twice.
  SpawnBack ask{other, self.pid(), n};
  absl::StatusOr<absl::StatusOr<Pid>> back =
      co_await dist::Call(self, "calls", node, std::move(ask), kPatience);
  if (!back.ok()) co_return back.status();
  if (!back->ok()) co_return back->status();
  const Pid spawned_back = **back;
  SNOW_CO_RETURN_IF_ERROR(co_await AwaitReport(self, spawned_back, n));
  self.Send(spawned_back, Halt{});
  co_return absl::OkStatus();
}

Task<absl::Status> Spawner(Self self, std::shared_ptr<Soak> soak, int node) {
  self.TrapExits();
  const int other = (node + 1) % kNodes;
  int64_t n = 0;
  while (!soak->stopping) {
    // A child of a round a kill interrupted may have reported after the round gave up on it
    // (the node that spawned it for us died before answering): halt it, or it waits for ever.
    for (;;) {
      absl::StatusOr<Report> stray = co_await self.ReceiveFor<Report>(absl::ZeroDuration());
      if (!stray.ok()) break;
      self.Send(stray->from, Halt{});
    }
    const Epoch at = Observe(*soak);
    absl::Status s =
        co_await SpawnRound(self, soak->nodes[node].name, soak->nodes[other].name, ++n);
    if (s.ok()) {
      ++soak->spawn_rounds;
    } else if (Interrupted(*soak, at, node) || Interrupted(*soak, at, other)) {
      ++soak->spawns_interrupted;
    } else {
      soak->Fail(absl::StrCat("spawns on ", soak->nodes[node].name, ": ", s.ToString()));
    }
    co_await Sleep(absl::Milliseconds(100));
  }
  co_return absl::OkStatus();
}

// Keeps a linked, monitored child on `node`; only a lost connection may end it, and then both
// the Down and the Exit must say noconnection.
Task<absl::Status> Watcher(Self self, std::shared_ptr<Soak> soak, int node) {
  self.TrapExits();
  while (!soak->stopping) {
    const Epoch at = Observe(*soak);
    if (at.down[node]) {
      co_await Sleep(absl::Milliseconds(200));
      continue;
    }
    absl::StatusOr<SpawnedMonitor> child = co_await dist::SpawnMonitor(
        self, soak->nodes[node].name, "snow.node.reporter", self.pid(), int64_t{0}, "watched");
    absl::Status placed = child.status();
    if (placed.ok()) placed = co_await AwaitReport(self, child->pid, 0);
    if (!placed.ok()) {
      if (!Interrupted(*soak, at, node)) soak->Fail(absl::StrCat("watcher: ", placed.ToString()));
      co_await Sleep(absl::Milliseconds(200));
      continue;
    }
    const Pid pid = child->pid;
    const Ref ref = child->ref;
    self.Link(pid);
    for (;;) {
      absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(
          absl::Seconds(1), [ref](const Down& d) { return d.ref == ref; });
      if (!down.ok()) {
        if (!soak->stopping) continue;
        self.Unlink(pid);
        self.Send(pid, Halt{});
        co_return absl::OkStatus();
      }
      if (!Interrupted(*soak, at, node) || down->reason != NoConnectionReason()) {
        soak->Fail(absl::StrCat("watched child on ", soak->nodes[node].name, ": Down ",
                                down->reason.ToString()));
        break;
      }
      ++soak->noconnection_downs;
      absl::StatusOr<Exit> exit =
          co_await self.ReceiveFor<Exit>(kPatience, [pid](const Exit& e) { return e.from == pid; });
      if (exit.ok() && exit->reason == NoConnectionReason()) {
        ++soak->noconnection_exits;
      } else {
        soak->Fail(absl::StrCat("watched child on ", soak->nodes[node].name, ": Exit ",
                                exit.ok() ? exit->reason.ToString() : exit.status().ToString()));
      }
      break;
    }
  }
  co_return absl::OkStatus();
}

absl::StatusOr<NodeProcess> StartNode(const Options& options, const std::string& name,
                                      const std::string& first) {
  NodeProcess::Options o{.binary = options.node_binary, .name = name, .cookie = kCookie};
  if (!first.empty()) o.connect = {first};
  return NodeProcess::Start(o);
}

// Starts the nodes, then keeps them: kills and restarts c on schedule and counts any other exit
// as a crash (and restarts that node too, so the soak goes on). The processes are children of
// this actor's shard thread, which lives as long as they should.
Task<absl::Status> Keeper(Self self, std::shared_ptr<Soak> soak, Pid main) {
  std::array<std::optional<NodeProcess>, kNodes> processes;
  auto start = [&](int i, const std::string& name) -> absl::Status {
    absl::StatusOr<NodeProcess> p =
        StartNode(soak->options, name, i == 0 ? "" : soak->nodes[0].name);
    if (!p.ok()) return p.status();
    soak->nodes[i].name = p->name();
    soak->nodes[i].os_pid = p->pid();
    processes[i].emplace(std::move(*p));
    return absl::OkStatus();
  };
  for (int i = 0; i < kNodes; ++i) {
    absl::Status s = start(i, absl::StrCat(kLetters[i], "@127.0.0.1:0"));
    if (!s.ok()) {
      self.Send(main, Outcome{s});
      co_return s;
    }
  }
  for (int i = 0; i < kNodes; ++i) {
    absl::Status s = co_await dist::Connect(self, soak->nodes[i].name);
    if (!s.ok()) {
      self.Send(main, Outcome{s});
      co_return s;
    }
  }
  self.Send(main, Outcome{absl::OkStatus()});

  absl::Time next_kill = absl::Now() + soak->options.kill_every;
  for (;;) {
    absl::StatusOr<Finish> finish = co_await self.ReceiveFor<Finish>(absl::Seconds(1));
    if (finish.ok()) break;
    for (int i = 0; i < kNodes; ++i) {
      NodeState& node = soak->nodes[i];
      const bool kill = i == kKilled && !soak->stopping && absl::Now() >= next_kill;
      if (!kill) {
        absl::StatusOr<int> ended = processes[i]->Wait(absl::ZeroDuration());
        if (!ended.ok()) continue;  // still running
        ++soak->crashes;
        soak->Fail(absl::StrCat(node.name, " ended by itself, wait status ", *ended));
      }
      node.down = true;
      ++node.kills;
      node.os_pid = 0;
      if (kill) {
        processes[i]->Signal(SIGKILL);
        (void)processes[i]->Wait(absl::Seconds(10));
        next_kill = absl::Now() + soak->options.kill_every;
      }
      processes[i].reset();
      co_await Sleep(absl::Seconds(1));  // as an operator's restart would
      absl::Status s = start(i, node.name);
      if (s.ok()) s = co_await dist::Connect(self, node.name);
      if (!s.ok()) {
        soak->Fail(absl::StrCat("restarting ", node.name, ": ", s.ToString()));
        co_return s;
      }
      ++node.incarnation;
      ++soak->restarts;
      node.down = false;
    }
  }
  for (auto& p : processes) {
    if (p) p->Signal(SIGTERM);
  }
  for (auto& p : processes) {
    if (p) (void)p->Wait(absl::Seconds(10));
  }
  co_return absl::OkStatus();
}

uint16_t PortOf(const std::string& name) {
  return static_cast<uint16_t>(std::atoi(name.substr(name.rfind(':') + 1).c_str()));
}

// Every few seconds: a connection to one node that sends garbage, nothing, or the header of a
// 16 KiB TLS record and nothing more. The node must close it (the last two by its deadlines).
void HostileClient(Soak* soak) {
  std::mt19937_64 random(42);
  for (uint64_t i = 0; !soak->stopping; ++i) {
    const absl::Time wake = absl::Now() + soak->options.hostile_every;
    while (!soak->stopping && absl::Now() < wake) absl::SleepFor(absl::Milliseconds(100));
    const NodeState& node = soak->nodes[i % kNodes];
    if (soak->stopping || node.down) continue;
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(PortOf(node.name));
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
      close(fd);  // c between kill and restart
      continue;
    }
    ++soak->hostile;
    std::string bytes;
    if (i % 3 == 0) {
      bytes.resize(4096);
      for (char& c : bytes) c = static_cast<char>(random());
    } else if (i % 3 == 2) {
      bytes = std::string("\x16\x03\x01\x40\x00", 5);
    }
    if (!bytes.empty()) (void)send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    // The node closes: read until the end of the stream (or a reset), for at most 15 s.
    pollfd p{.fd = fd, .events = POLLIN, .revents = 0};
    bool closed = false;
    const absl::Time deadline = absl::Now() + absl::Seconds(15);
    char sink[4096];
    while (!closed && absl::Now() < deadline &&
           poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(deadline - absl::Now()))) > 0) {
      closed = recv(fd, sink, sizeof sink, 0) <= 0;
    }
    if (closed || node.down) {
      ++soak->hostile_closed;
    } else {
      ++soak->hostile_left_open;
      soak->Fail(absl::StrCat("a hostile connection to ", node.name, " was left open"));
    }
    close(fd);
  }
}

// --- Sampling and the report ---

struct Sample {
  double minutes;
  std::string node;  // a, b, c or soak
  uint32_t incarnation;
  uint64_t rss_kib, fds, live_actors, queued_bytes, messages_received, actors_crashed;
};

uint64_t RssKib(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

uint64_t OpenFds(pid_t pid) {
  DIR* dir = opendir(absl::StrCat("/proc/", pid, "/fd").c_str());
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(dir)) n += e->d_name[0] != '.';
  closedir(dir);
  return n;
}

// Least-squares slope of y over x.
double Slope(const std::vector<std::pair<double, double>>& points) {
  const double n = static_cast<double>(points.size());
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  for (auto [x, y] : points) {
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const double d = n * sxx - sx * sx;
  return d == 0 ? 0 : (n * sxy - sx * sy) / d;
}

// One panel of the plot: each series a polyline, against minutes.
void Panel(std::string& svg, int top, const std::string& title,
           const std::map<std::string, std::vector<std::pair<double, double>>>& series,
           double max_minutes) {
  constexpr int kLeft = 70, kWidth = 760, kHeight = 170;
  double max_y = 1;
  for (const auto& [name, points] : series) {
    for (auto [x, y] : points) max_y = std::max(max_y, y);
  }
  max_y *= 1.1;
  auto px = [&](double x) { return kLeft + x / std::max(max_minutes, 1.0) * kWidth; };
  auto py = [&](double y) { return top + kHeight - y / max_y * kHeight; };
  absl::StrAppendFormat(&svg, "<text x='%d' y='%d' font-weight='bold'>%s</text>\n", kLeft, top - 8,
                        title);
  absl::StrAppendFormat(&svg,
                        "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>\n",
                        kLeft, top, kWidth, kHeight);
  for (int tick = 0; tick <= 4; ++tick) {
    const double y = max_y * tick / 4;
    absl::StrAppendFormat(&svg,
                          "<text x='%d' y='%.1f' text-anchor='end' font-size='11'>%.4g</text>\n",
                          kLeft - 4, py(y) + 4, y);
    const double x = max_minutes * tick / 4;
    absl::StrAppendFormat(
        &svg, "<text x='%.1f' y='%d' text-anchor='middle' font-size='11'>%.0f min</text>\n", px(x),
        top + kHeight + 14, x);
  }
  static const std::map<std::string, std::string> kColours = {
      {"a", "#1f77b4"}, {"b", "#2ca02c"}, {"c", "#d62728"}, {"soak", "#7f7f7f"}};
  int legend = 0;
  for (const auto& [name, points] : series) {
    const std::string colour = kColours.contains(name) ? kColours.at(name) : "#000";
    std::string path;
    double last_x = -1;
    for (auto [x, y] : points) {
      // A restart (or a gap) starts a new line.
      absl::StrAppendFormat(&path, "%s%.1f,%.1f ", (last_x < 0 || x - last_x > 1) ? "M" : "L",
                            px(x), py(y));
      last_x = x;
    }
    absl::StrAppendFormat(&svg, "<path d='%s' fill='none' stroke='%s' stroke-width='1.5'/>\n", path,
                          colour);
    absl::StrAppendFormat(&svg, "<text x='%d' y='%d' fill='%s' font-size='12'>%s</text>\n",
                          kLeft + kWidth + 10, top + 14 + 16 * legend++, colour, name);
  }
}

struct Verdict {
  bool passed = true;
  std::string text;
};

Verdict Judge(const Soak& soak, const std::vector<Sample>& samples, double minutes) {
  Verdict v;
  auto line = [&](std::string s) { absl::StrAppend(&v.text, s, "\n"); };
  auto check = [&](bool ok, std::string s) {
    if (!ok) v.passed = false;
    line(absl::StrCat(ok ? "  ok    " : "  FAIL  ", s));
  };
  // Messages moved: what every process received over the connections, each incarnation's last
  // count (the counters start again at a restart).
  std::map<std::pair<std::string, uint32_t>, uint64_t> received;
  for (const Sample& s : samples) {
    uint64_t& r = received[{s.node, s.incarnation}];
    r = std::max(r, s.messages_received);
  }
  uint64_t moved = 0;
  for (auto& [key, r] : received) moved += r;
  line(absl::StrFormat("duration %.1f min; %llu messages received across the cluster", minutes,
                       static_cast<unsigned long long>(moved)));
  line(absl::StrFormat("stream rounds %llu whole (%llu items), %llu interrupted by a kill",
                       soak.rounds.load(), soak.stream_items.load(),
                       soak.rounds_interrupted.load()));
  line(
      absl::StrFormat("calls %llu, %llu interrupted; spawn rounds %llu (4 spawns each), %llu "
                      "interrupted",
                      soak.calls.load(), soak.calls_interrupted.load(), soak.spawn_rounds.load(),
                      soak.spawns_interrupted.load()));
  line(absl::StrFormat("hostile connections %llu, %llu closed by the node", soak.hostile.load(),
                       soak.hostile_closed.load()));
  const uint64_t kills = soak.nodes[kKilled].kills.load();
  check(soak.crashes == 0, absl::StrCat("crashes: ", soak.crashes.load()));
  uint64_t crashed_actors = 0;
  for (const Sample& s : samples) crashed_actors = std::max(crashed_actors, s.actors_crashed);
  check(crashed_actors == 0, absl::StrCat("actors that crashed (an exception): ", crashed_actors));
  check(soak.lost == 0 && soak.reordered == 0,
        absl::StrCat("lost ", soak.lost.load(), ", reordered ", soak.reordered.load(),
                     " in rounds no kill interrupted"));
  check(soak.failures == 0, absl::StrCat("other failures: ", soak.failures.load()));
  // A kill just before the end may still be restarting when this is judged.
  const uint64_t restarting = soak.nodes[kKilled].down ? 1 : 0;
  check(soak.restarts + restarting == kills && kills > 0,
        absl::StrCat("kills of c ", kills, ", restarts survived ", soak.restarts.load(),
                     restarting ? " (one under way at the end)" : ""));
  // The kill that ends the run's last seconds may come after the watcher's child was placed.
  check(soak.noconnection_downs + 1 >= kills && soak.noconnection_exits == soak.noconnection_downs,
        absl::StrCat("noconnection Downs ", soak.noconnection_downs.load(), ", Exits ",
                     soak.noconnection_exits.load(), " for ", kills, " kills"));
  check(soak.hostile_left_open == 0 && soak.hostile > 0,
        absl::StrCat("hostile connections left open: ", soak.hostile_left_open.load()));
  const double warm = absl::ToDoubleMinutes(soak.options.warmup);
  for (const char* name : {"a", "b", "soak"}) {
    std::vector<std::pair<double, double>> points;
    double sum = 0;
    for (const Sample& s : samples) {
      if (s.node == name && s.minutes >= warm) {
        points.emplace_back(s.minutes / 60, s.rss_kib / 1024.0);
        sum += s.rss_kib / 1024.0;
      }
    }
    if (points.size() < 3) {
      check(false, absl::StrCat(name, ": too few samples after the warm-up for a slope"));
      continue;
    }
    // A slope over minutes says nothing about an hour: short runs report it without judging.
    const bool judged = (points.back().first - points.front().first) * 60 >= 15;
    const double mean = sum / points.size();
    const double slope = Slope(points);  // MiB per hour
    const std::string what = absl::StrFormat(
        "%s: RSS slope %+.2f MiB/h after the warm-up (mean %.1f MiB)", name, slope, mean);
    if (judged) {
      check(slope <= std::max(2.0, 0.05 * mean), what);
    } else {
      line(absl::StrCat("  --    ", what, ", not judged: under 15 minutes after the warm-up"));
    }
  }
  std::map<uint32_t, uint64_t> c_peaks;
  for (const Sample& s : samples) {
    if (s.node == "c") c_peaks[s.incarnation] = std::max(c_peaks[s.incarnation], s.rss_kib);
  }
  if (!c_peaks.empty()) {
    line(absl::StrFormat(
        "c: %zu incarnations, peak RSS %.1f MiB in the first, %.1f MiB in the last", c_peaks.size(),
        c_peaks.begin()->second / 1024.0, c_peaks.rbegin()->second / 1024.0));
  }
  return v;
}

std::string Plot(const std::vector<Sample>& samples, double minutes) {
  std::string svg =
      "<svg xmlns='http://www.w3.org/2000/svg' width='900' height='960' "
      "font-family='sans-serif'>\n<rect width='100%' height='100%' fill='white'/>\n";
  using Series = std::map<std::string, std::vector<std::pair<double, double>>>;
  Series rss, fds, actors, queued;
  for (const Sample& s : samples) {
    rss[s.node].emplace_back(s.minutes, s.rss_kib / 1024.0);
    fds[s.node].emplace_back(s.minutes, static_cast<double>(s.fds));
    actors[s.node].emplace_back(s.minutes, static_cast<double>(s.live_actors));
    queued[s.node].emplace_back(s.minutes, s.queued_bytes / 1024.0);
  }
  Panel(svg, 30, "RSS (MiB)", rss, minutes);
  Panel(svg, 265, "open descriptors", fds, minutes);
  Panel(svg, 500, "live actors", actors, minutes);
  Panel(svg, 735, "bytes queued to peers (KiB)", queued, minutes);
  svg += "</svg>\n";
  return svg;
}

// Samples every process each period until Finish; then writes the plot and the verdict, and
// answers `main` with it.
Task<absl::Status> Sampler(Self self, std::shared_ptr<Soak> soak, Pid main) {
  const std::string csv_path = absl::StrCat(soak->options.out, "/samples.csv");
  std::FILE* csv = std::fopen(csv_path.c_str(), "w");
  if (csv == nullptr) co_return absl::NotFoundError(absl::StrCat("cannot write ", csv_path));
  std::fprintf(csv,
               "minutes,node,incarnation,rss_kib,fds,live_actors,queued_bytes,messages_received,"
               "actors_crashed\n");
  std::vector<Sample> samples;
  const absl::Time start = absl::Now();
  double minutes = 0;
  for (int round = 0;; ++round) {
    minutes = absl::ToDoubleMinutes(absl::Now() - start);
    for (int i = 0; i < kNodes; ++i) {
      NodeState& node = soak->nodes[i];
      const pid_t pid = node.os_pid;
      const uint32_t incarnation = node.incarnation;
      if (pid == 0) continue;
      const Epoch at = Observe(*soak);
      absl::StatusOr<NodeStats> stats =
          co_await dist::Call(self, "calls", node.name, Stats{}, kPatience);
      if (!stats.ok()) {
        if (!Interrupted(*soak, at, i))
          soak->Fail(absl::StrCat("stats of ", node.name, ": ", stats.status().ToString()));
        continue;
      }
      samples.push_back({minutes, kLetters[i], incarnation, RssKib(pid), OpenFds(pid),
                         stats->live_actors, stats->queued_bytes, stats->messages_received,
                         stats->actors_crashed});
    }
    const RuntimeStats own = self.runtime().stats();
    const dist::DistStats own_dist = dist::Stats(self);
    samples.push_back({minutes, "soak", 1, RssKib(getpid()), OpenFds(getpid()), own.live_actors,
                       own_dist.queued_bytes, own_dist.messages_received, own.actors_crashed});
    for (auto it = samples.end() - 1; it >= samples.begin() && it->minutes == minutes; --it) {
      std::fprintf(csv, "%.3f,%s,%u,%llu,%llu,%llu,%llu,%llu,%llu\n", it->minutes, it->node.c_str(),
                   it->incarnation, static_cast<unsigned long long>(it->rss_kib),
                   static_cast<unsigned long long>(it->fds),
                   static_cast<unsigned long long>(it->live_actors),
                   static_cast<unsigned long long>(it->queued_bytes),
                   static_cast<unsigned long long>(it->messages_received),
                   static_cast<unsigned long long>(it->actors_crashed));
      if (it == samples.begin()) break;
    }
    std::fflush(csv);
    if (round % 6 == 0) {
      std::printf(
          "[%5.1f min] rounds %llu, calls %llu, spawn rounds %llu, kills %llu, hostile %llu, "
          "failures %llu\n",
          minutes, static_cast<unsigned long long>(soak->rounds.load()),
          static_cast<unsigned long long>(soak->calls.load()),
          static_cast<unsigned long long>(soak->spawn_rounds.load()),
          static_cast<unsigned long long>(soak->nodes[kKilled].kills.load()),
          static_cast<unsigned long long>(soak->hostile.load()),
          static_cast<unsigned long long>(soak->failures.load()));
      std::fflush(stdout);
    }
    absl::StatusOr<Finish> finish = co_await self.ReceiveFor<Finish>(soak->options.sample_every);
    if (finish.ok()) break;
  }
  std::fclose(csv);
  const std::string svg_path = absl::StrCat(soak->options.out, "/soak.svg");
  std::ofstream(svg_path) << Plot(samples, minutes);
  Verdict verdict = Judge(*soak, samples, minutes);
  std::printf("\n%s", verdict.text.c_str());
  {
    std::lock_guard lock(soak->mutex);
    for (const std::string& f : soak->failure_lines) std::printf("  failure: %s\n", f.c_str());
  }
  std::printf("samples: %s\nplot:    %s\nverdict: %s\n", csv_path.c_str(), svg_path.c_str(),
              verdict.passed ? "PASS" : "FAIL");
  std::fflush(stdout);
  self.Send(main,
            Outcome{verdict.passed ? absl::OkStatus() : absl::InternalError("the soak failed")});
  co_return absl::OkStatus();
}

Task<absl::Status> Main(Self self, std::shared_ptr<Soak> soak) {
  node_services::RegisterServiceMessages();
  SNOW_CO_RETURN_IF_ERROR(dist::Start(self, {.name = "soak@127.0.0.1:0", .cookie = kCookie}));
  const Pid keeper = self.Spawn(Keeper, soak, self.pid());
  const Ref keeper_ref = self.Monitor(keeper);
  Outcome up = co_await self.Receive<Outcome>();
  if (!up.status.ok()) co_return up.status;
  std::printf("soak: %s, %s and %s for %s; c killed every %s; a hostile connection every %s\n",
              soak->nodes[0].name.c_str(), soak->nodes[1].name.c_str(), soak->nodes[2].name.c_str(),
              absl::FormatDuration(soak->options.duration).c_str(),
              absl::FormatDuration(soak->options.kill_every).c_str(),
              absl::FormatDuration(soak->options.hostile_every).c_str());
  std::fflush(stdout);
  std::thread hostile(HostileClient, soak.get());
  const Pid sampler = self.Spawn(Sampler, soak, self.pid());
  std::vector<Ref> workers;
  for (int i = 0; i < kNodes; ++i) {
    workers.push_back(self.Monitor(self.Spawn(Streamer, soak, i)));
    workers.push_back(self.Monitor(self.Spawn(Caller, soak, i)));
    workers.push_back(self.Monitor(self.Spawn(Spawner, soak, i)));
    workers.push_back(self.Monitor(self.Spawn(Watcher, soak, i)));
  }
  co_await Sleep(soak->options.duration);
  soak->stopping = true;
  for (const Ref ref : workers) {
    absl::StatusOr<Down> down = co_await self.ReceiveFor<Down>(
        absl::Minutes(1), [ref](const Down& d) { return d.ref == ref; });
    if (!down.ok()) {
      soak->Fail("a worker did not stop within a minute");
    } else if (!down->reason.ok()) {
      soak->Fail(absl::StrCat("a worker ended with ", down->reason.ToString()));
    }
  }
  hostile.join();  // within one hostile connection's 15 s
  self.Send(sampler, Finish{});
  Outcome verdict = co_await self.Receive<Outcome>();
  self.Send(keeper, Finish{});
  (void)co_await self.ReceiveFor<Down>(absl::Seconds(30),
                                       [keeper_ref](const Down& d) { return d.ref == keeper_ref; });
  co_return verdict.status;
}

void Usage(FILE* out) {
  std::fprintf(out,
               "usage: snow-soak [--minutes=60] [--kill-every-s=180] [--hostile-every-s=3] "
               "[--sample-every-s=10] [--warmup-minutes=5] [--out=DIR] [--node=SNOW_NODE]\n"
               "Runs nodes a, b and c (snow-node) under mixed load, kills and restarts c on "
               "schedule, samples every process into DIR/samples.csv, plots DIR/soak.svg and "
               "prints a verdict (exit status 0 when it passes).\n%s",
               RuntimeOptions::kUsage);
}

}  // namespace

int main(int argc, char** argv) {
  auto soak = std::make_shared<Soak>();
  Options& o = soak->options;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto number = [&](std::string_view prefix) { return std::atof(argv[i] + prefix.size()); };
    if (a == "--help" || a == "-h") {
      Usage(stdout);
      return 0;
    } else if (a.starts_with("--minutes=")) {
      o.duration = absl::Seconds(60 * number("--minutes="));
    } else if (a.starts_with("--kill-every-s=")) {
      o.kill_every = absl::Seconds(number("--kill-every-s="));
    } else if (a.starts_with("--hostile-every-s=")) {
      o.hostile_every = absl::Seconds(number("--hostile-every-s="));
    } else if (a.starts_with("--sample-every-s=")) {
      o.sample_every = absl::Seconds(number("--sample-every-s="));
    } else if (a.starts_with("--warmup-minutes=")) {
      o.warmup = absl::Seconds(60 * number("--warmup-minutes="));
    } else if (a.starts_with("--node=")) {
      o.node_binary = std::string(a.substr(7));
    } else if (a.starts_with("--out=")) {
      o.out = std::string(a.substr(6));
    } else if (!a.starts_with("--snow-")) {
      std::fprintf(stderr, "snow-soak: unknown argument %s\n", argv[i]);
      Usage(stderr);
      return 2;
    }
  }
  if (o.duration <= absl::ZeroDuration() || o.kill_every <= absl::ZeroDuration() ||
      o.hostile_every <= absl::ZeroDuration() || o.sample_every <= absl::ZeroDuration()) {
    Usage(stderr);
    return 2;
  }
  if (std::system(absl::StrCat("mkdir -p '", o.out, "'").c_str()) != 0) return 2;
  return snow::Run(RuntimeOptions::FromArgs(argc, argv), Main, soak);
}
