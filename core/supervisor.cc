#include "snow/core/supervisor.h"

#include <cstdio>
#include <deque>
#include <exception>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "snow/core/exit_reason.h"
#include "snow/core/runtime.h"
#include "snow/core/service.h"
#include "snow/core/time.h"

namespace snow {
namespace {

struct StartChildRequest {
  using Reply = absl::StatusOr<Pid>;
  ChildSpec spec;
};
struct TerminateChildRequest {
  using Reply = absl::Status;
  std::string id;
  Pid pid;  // kSimpleOneForOne
};
struct RestartChildRequest {
  using Reply = absl::StatusOr<Pid>;
  std::string id;
};
struct DeleteChildRequest {
  using Reply = absl::Status;
  std::string id;
};
struct WhichChildrenRequest {
  using Reply = std::vector<ChildInfo>;
};
struct CountChildrenRequest {
  using Reply = ChildCounts;
};
// A restart whose start failed is tried again through the mailbox, so requests and exits that
// came meanwhile are not starved.
struct RetryRestart {
  uint64_t key;
};

struct Child {
  ChildSpec spec;
  Pid pid;       // null when not running
  uint64_t key;  // identifies the child across restarts (ids are empty under kSimpleOneForOne)
};

std::string Describe(const Child& c, const Runtime& runtime) {
  if (c.spec.id.empty()) return c.pid ? runtime.PidText(c.pid) : std::string("(anonymous)");
  return absl::StrCat("\"", c.spec.id, "\"");
}

absl::Status ShutdownBecause(std::string_view why) {
  return absl::CancelledError(absl::StrCat("shutdown: ", AbslView(why)));
}

// The state of one supervisor. It lives in the Supervise frame, which awaits every member
// coroutine directly, so `this` outlives each of them.
class SupervisorRun {
 public:
  SupervisorRun(Self self, SupervisorSpec spec)
      : self_(self),
        strategy_(spec.strategy),
        intensity_(spec.intensity),
        period_(spec.period),
        log_(self.runtime().options().log_crashes) {
    if (strategy_ == Strategy::kSimpleOneForOne) {
      if (!spec.children.empty()) template_ = std::move(spec.children.front());
      simple_template_count_ = spec.children.size();
    } else {
      for (ChildSpec& c : spec.children) children_.push_back({std::move(c), Pid(), next_key_++});
    }
  }

  Task<absl::Status> Run() {
    self_.TrapExits();
    absl::Status valid = Validate();
    if (!valid.ok()) co_return valid;
    for (std::size_t i = 0; i < children_.size(); ++i) {
      absl::Status started = co_await StartOne(children_[i]);
      if (started.ok()) continue;
      std::string why =
          absl::StrCat("failed to start child ", Describe(children_[i], self_.runtime()), ": ",
                       started.ToString());
      co_await StopAll();
      co_return ShutdownBecause(why);
    }
    for (;;) {
      auto m = co_await self_.Receive<Exit, Request<StartChildRequest>,
                                      Request<TerminateChildRequest>, Request<RestartChildRequest>,
                                      Request<DeleteChildRequest>, Request<WhichChildrenRequest>,
                                      Request<CountChildrenRequest>, RetryRestart>();
      bool keep_running = true;
      if (auto* exit = std::get_if<Exit>(&m)) {
        keep_running = co_await OnExit(std::move(*exit));
      } else if (auto* start = std::get_if<Request<StartChildRequest>>(&m)) {
        absl::StatusOr<Pid> started = co_await OnStartChild(std::move(start->body.spec));
        Reply(self_, start->from, std::move(started));
      } else if (auto* stop = std::get_if<Request<TerminateChildRequest>>(&m)) {
        absl::Status stopped = co_await OnTerminateChild(stop->body);
        Reply(self_, stop->from, std::move(stopped));
      } else if (auto* restart = std::get_if<Request<RestartChildRequest>>(&m)) {
        absl::StatusOr<Pid> restarted = co_await OnRestartChild(restart->body.id);
        Reply(self_, restart->from, std::move(restarted));
      } else if (auto* remove = std::get_if<Request<DeleteChildRequest>>(&m)) {
        Reply(self_, remove->from, OnDeleteChild(remove->body.id));
      } else if (auto* which = std::get_if<Request<WhichChildrenRequest>>(&m)) {
        Reply(self_, which->from, Which());
      } else if (auto* count = std::get_if<Request<CountChildrenRequest>>(&m)) {
        Reply(self_, count->from, Count());
      } else if (auto* retry = std::get_if<RetryRestart>(&m)) {
        keep_running = RecordRestart();
        if (keep_running) co_await StartFrom(retry->key);
      }
      if (!keep_running) {
        co_await StopAll();
        co_return exit_reason_;
      }
    }
  }

 private:
  absl::Status Validate() const {
    if (intensity_ < 0 || period_ <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError("supervisor: intensity must be >= 0 and period > 0");
    }
    if (strategy_ == Strategy::kSimpleOneForOne) {
      if (simple_template_count_ != 1) {
        return absl::InvalidArgumentError(
            "supervisor: kSimpleOneForOne takes exactly one child spec, the template");
      }
      return absl::OkStatus();
    }
    absl::flat_hash_set<std::string> ids;
    for (const Child& c : children_) {
      if (c.spec.id.empty() || !c.spec.start) {
        return absl::InvalidArgumentError("supervisor: every child needs an id and a start");
      }
      if (!ids.insert(c.spec.id).second) {
        return absl::InvalidArgumentError(
            absl::StrCat("supervisor: two children have the id \"", c.spec.id, "\""));
      }
    }
    return absl::OkStatus();
  }

  // `c` stays put while the start waits: nothing else runs in this supervisor meanwhile.
  Task<absl::Status> StartOne(Child& c) {
    absl::StatusOr<Pid> pid = co_await c.spec.start(self_);
    if (!pid.ok()) {
      Report(c, "failed to start", pid.status());
      co_return pid.status();
    }
    c.pid = *pid;
    co_return absl::OkStatus();
  }

  // Stops one child: shutdown, then kill after its grace period (OTP's shutdown/2).
  Task<void> StopChild(uint64_t key) {
    Child* c = Find(key);
    if (c == nullptr || !c->pid) co_return;
    Pid pid = c->pid;
    absl::Duration grace = c->spec.shutdown;
    Ref monitor = self_.Monitor(pid);
    self_.Unlink(pid);
    auto is_its_down = [monitor](const Down& d) { return d.ref == monitor; };
    bool ended = false;
    if (grace != kBrutalKill) {
      self_.SendExit(pid, ShutdownReason());
      absl::StatusOr<Down> down = co_await self_.ReceiveFor<Down>(grace, is_its_down);
      ended = down.ok();
    }
    if (!ended) {
      self_.SendExit(pid, KillReason());
      Down killed = co_await self_.Receive<Down>(is_its_down);
      (void)killed;
    }
    // An Exit it sent before the unlink took effect is no longer news.
    auto is_its_exit = [pid](const Exit& e) { return e.from == pid; };
    absl::StatusOr<Exit> stale = co_await self_.ReceiveFor<Exit>(absl::ZeroDuration(), is_its_exit);
    (void)stale;
    if (Child* again = Find(key)) again->pid = Pid();
  }

  // Stops every running child, last started first.
  Task<void> StopAll() {
    std::vector<uint64_t> keys;
    for (const Child& c : children_) keys.push_back(c.key);
    for (auto it = keys.rbegin(); it != keys.rend(); ++it) co_await StopChild(*it);
  }

  // A child ended. False: the supervisor must stop (exit_reason_ says why).
  Task<bool> OnExit(Exit exit) {
    if (exit.from == self_.parent()) {
      exit_reason_ = std::move(exit.reason);
      co_return false;
    }
    std::size_t index = IndexOf(exit.from);
    if (index == children_.size()) co_return true;  // not (or no longer) a child of ours
    Child& c = children_[index];
    c.pid = Pid();
    bool abnormal = !IsNormalExit(exit.reason) && !IsShutdown(exit.reason);
    if (abnormal) Report(c, "ended", exit.reason);
    bool restart = c.spec.restart == Restart::kPermanent ||
                   (c.spec.restart == Restart::kTransient && abnormal);
    if (!restart) {
      if (c.spec.restart == Restart::kTemporary || strategy_ == Strategy::kSimpleOneForOne) {
        children_.erase(children_.begin() + index);
      }
      co_return true;
    }
    if (!RecordRestart()) co_return false;
    uint64_t key = c.key;
    if (strategy_ == Strategy::kOneForAll || strategy_ == Strategy::kRestForOne) {
      std::size_t first = strategy_ == Strategy::kOneForAll ? 0 : index + 1;
      std::vector<uint64_t> others;
      for (std::size_t i = first; i < children_.size(); ++i) {
        if (i != index) others.push_back(children_[i].key);
      }
      for (auto it = others.rbegin(); it != others.rend(); ++it) co_await StopChild(*it);
      // Temporary children stopped by the strategy are not restarted (OTP): forget them.
      std::erase_if(children_, [](const Child& child) {
        return !child.pid && child.spec.restart == Restart::kTemporary;
      });
      if (strategy_ == Strategy::kOneForAll && !children_.empty()) key = children_.front().key;
    }
    co_await StartFrom(key);
    co_return true;
  }

  // Starts the child `key` and, under kOneForAll / kRestForOne, every stopped child after it,
  // in order. A failed start is retried through the mailbox.
  Task<void> StartFrom(uint64_t key) {
    std::size_t first = IndexOfKey(key);
    if (first == children_.size()) co_return;
    bool whole_rest = strategy_ == Strategy::kOneForAll || strategy_ == Strategy::kRestForOne;
    std::size_t end = whole_rest ? children_.size() : first + 1;
    for (std::size_t i = first; i < end; ++i) {
      if (children_[i].pid) continue;
      absl::Status started = co_await StartOne(children_[i]);
      if (!started.ok()) {
        self_.Send(self_.pid(), RetryRestart{children_[i].key});
        co_return;
      }
    }
  }

  // One more restart now; false when that is more than the intensity allows in the period.
  bool RecordRestart() {
    absl::Duration now = MonotonicNow();
    restarts_.push_back(now);
    while (!restarts_.empty() && restarts_.front() <= now - period_) restarts_.pop_front();
    if (static_cast<int>(restarts_.size()) <= intensity_) return true;
    if (log_) {
      std::fprintf(stderr, "snow: supervisor %s: more than %d restarts in %s, shutting down\n",
                   self_.runtime().PidText(self_.pid()).c_str(), intensity_,
                   absl::FormatDuration(period_).c_str());
    }
    exit_reason_ = ShutdownReason();
    return false;
  }

  Task<absl::StatusOr<Pid>> OnStartChild(ChildSpec spec) {
    Child c;
    if (strategy_ == Strategy::kSimpleOneForOne) {
      c.spec = template_;
      if (spec.start) c.spec.start = std::move(spec.start);
      c.spec.id.clear();
    } else {
      if (spec.id.empty() || !spec.start) {
        co_return absl::InvalidArgumentError("StartChild: the child needs an id and a start");
      }
      if (Child* existing = FindId(spec.id)) {
        co_return absl::AlreadyExistsError(
            existing->pid ? absl::StrCat("child \"", spec.id, "\" already started as ",
                                         existing->pid.ToString())
                          : absl::StrCat("child \"", spec.id, "\" already present"));
      }
      c.spec = std::move(spec);
    }
    c.key = next_key_++;
    absl::Status started = co_await StartOne(c);
    if (!started.ok()) co_return started;
    Pid pid = c.pid;
    children_.push_back(std::move(c));
    co_return pid;
  }

  Task<absl::Status> OnTerminateChild(TerminateChildRequest request) {
    Child* c = strategy_ == Strategy::kSimpleOneForOne ? FindPid(request.pid) : FindId(request.id);
    if (c == nullptr) {
      co_return absl::NotFoundError(strategy_ == Strategy::kSimpleOneForOne
                                        ? absl::StrCat("no child ", request.pid.ToString())
                                        : absl::StrCat("no child \"", request.id, "\""));
    }
    uint64_t key = c->key;
    co_await StopChild(key);
    std::size_t index = IndexOfKey(key);
    if (index < children_.size() && (strategy_ == Strategy::kSimpleOneForOne ||
                                     children_[index].spec.restart == Restart::kTemporary)) {
      children_.erase(children_.begin() + index);
    }
    co_return absl::OkStatus();
  }

  Task<absl::StatusOr<Pid>> OnRestartChild(std::string id) {
    if (strategy_ == Strategy::kSimpleOneForOne) {
      co_return absl::InvalidArgumentError("RestartChild is not for kSimpleOneForOne children");
    }
    Child* c = FindId(id);
    if (c == nullptr) co_return absl::NotFoundError(absl::StrCat("no child \"", id, "\""));
    if (c->pid) {
      co_return absl::FailedPreconditionError(
          absl::StrCat("child \"", id, "\" is running as ", c->pid.ToString()));
    }
    absl::Status started = co_await StartOne(*c);
    if (!started.ok()) co_return started;
    co_return c->pid;
  }

  absl::Status OnDeleteChild(const std::string& id) {
    if (strategy_ == Strategy::kSimpleOneForOne) {
      return absl::InvalidArgumentError("DeleteChild is not for kSimpleOneForOne children");
    }
    Child* c = FindId(id);
    if (c == nullptr) return absl::NotFoundError(absl::StrCat("no child \"", id, "\""));
    if (c->pid) {
      return absl::FailedPreconditionError(
          absl::StrCat("child \"", id, "\" is running as ", c->pid.ToString()));
    }
    children_.erase(children_.begin() + IndexOfKey(c->key));
    return absl::OkStatus();
  }

  std::vector<ChildInfo> Which() const {
    std::vector<ChildInfo> out;
    for (const Child& c : children_) {
      out.push_back({c.spec.id, c.pid, c.spec.type, c.spec.restart,
                     c.pid ? self_.runtime().NodeNameOf(c.pid) : std::string()});
    }
    return out;
  }

  ChildCounts Count() const {
    ChildCounts counts;
    for (const Child& c : children_) {
      ++counts.specs;
      if (c.pid) ++counts.active;
      if (c.spec.type == ChildType::kSupervisor) {
        ++counts.supervisors;
      } else {
        ++counts.workers;
      }
    }
    return counts;
  }

  void Report(const Child& c, const char* what, const absl::Status& reason) const {
    if (!log_) return;
    std::fprintf(stderr, "snow: supervisor %s: child %s %s: %s\n",
                 self_.runtime().PidText(self_.pid()).c_str(), Describe(c, self_.runtime()).c_str(),
                 what, reason.ToString().c_str());
  }

  std::size_t IndexOf(Pid pid) const {
    std::size_t i = 0;
    while (i < children_.size() && children_[i].pid != pid) ++i;
    return i;
  }
  std::size_t IndexOfKey(uint64_t key) const {
    std::size_t i = 0;
    while (i < children_.size() && children_[i].key != key) ++i;
    return i;
  }
  Child* Find(uint64_t key) {
    std::size_t i = IndexOfKey(key);
    return i < children_.size() ? &children_[i] : nullptr;
  }
  Child* FindPid(Pid pid) {
    std::size_t i = pid ? IndexOf(pid) : children_.size();
    return i < children_.size() ? &children_[i] : nullptr;
  }
  Child* FindId(const std::string& id) {
    for (Child& c : children_) {
      if (c.spec.id == id) return &c;
    }
    return nullptr;
  }

  Self self_;
  Strategy strategy_;
  int intensity_;
  absl::Duration period_;
  bool log_;
  ChildSpec template_;  // kSimpleOneForOne
  std::size_t simple_template_count_ = 0;
  std::vector<Child> children_;  // in start order
  std::deque<absl::Duration> restarts_;
  uint64_t next_key_ = 1;
  absl::Status exit_reason_;
};

}  // namespace

// Every request below is built in a named local before the co_await: g++ 12 bit-copies a
// braced temporary passed by value to a coroutine inside a co_await expression (docs/pitfalls.md).

Task<absl::Status> Supervise(Self self, SupervisorSpec spec) {
  SupervisorRun run(self, std::move(spec));
  absl::Status reason = co_await run.Run();
  co_return reason;
}

Task<absl::StatusOr<Pid>> StartChild(Self self, Pid supervisor, ChildSpec spec,
                                     absl::Duration timeout) {
  StartChildRequest request{std::move(spec)};
  absl::StatusOr<absl::StatusOr<Pid>> reply =
      co_await Call(self, supervisor, std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return *std::move(reply);
}

Task<absl::Status> TerminateChild(Self self, Pid supervisor, std::string id,
                                  absl::Duration timeout) {
  TerminateChildRequest request{std::move(id), Pid()};
  absl::StatusOr<absl::Status> reply = co_await Call(self, supervisor, std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return *reply;
}

Task<absl::Status> TerminateChild(Self self, Pid supervisor, Pid child, absl::Duration timeout) {
  TerminateChildRequest request{std::string(), child};
  absl::StatusOr<absl::Status> reply = co_await Call(self, supervisor, std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return *reply;
}

Task<absl::StatusOr<Pid>> RestartChild(Self self, Pid supervisor, std::string id,
                                       absl::Duration timeout) {
  RestartChildRequest request{std::move(id)};
  absl::StatusOr<absl::StatusOr<Pid>> reply =
      co_await Call(self, supervisor, std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return *std::move(reply);
}

Task<absl::Status> DeleteChild(Self self, Pid supervisor, std::string id, absl::Duration timeout) {
  DeleteChildRequest request{std::move(id)};
  absl::StatusOr<absl::Status> reply = co_await Call(self, supervisor, std::move(request), timeout);
  if (!reply.ok()) co_return reply.status();
  co_return *reply;
}

Task<absl::StatusOr<std::vector<ChildInfo>>> WhichChildren(Self self, Pid supervisor,
                                                           absl::Duration timeout) {
  WhichChildrenRequest request{};
  absl::StatusOr<std::vector<ChildInfo>> reply =
      co_await Call(self, supervisor, std::move(request), timeout);
  co_return reply;
}

Task<absl::StatusOr<ChildCounts>> CountChildren(Self self, Pid supervisor, absl::Duration timeout) {
  CountChildrenRequest request{};
  absl::StatusOr<ChildCounts> reply = co_await Call(self, supervisor, std::move(request), timeout);
  co_return reply;
}

}  // namespace snow
