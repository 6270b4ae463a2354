// File: core/exit_reason.h
//
// Exit reasons and the two messages the runtime itself sends: Exit (a linked actor ended, for
// an actor that traps exits) and Down (a monitored actor ended).
//
// A reason is an absl::Status (docs/actors.md, "Exit reasons"), so it prints, compares and, in
// dist/, serializes like any other status:
//
//   OK                          normal      ends quietly; does not kill linked actors
//   kAborted    "kill"          kill        untrappable; sent with Self::SendExit
//   kAborted    "killed"        killed      what the links of a killed actor receive
//   kCancelled  "shutdown"      shutdown    a supervisor stopping a child, or giving up
//   kNotFound   "noproc"        noproc      the PID was dead or unknown
//   kUnavailable "noconnection" noconnection  the PID's node is unreachable (dist/)
//   kInternal   <what()>        crash       an exception escaped the actor
//   any other error             whatever the actor returned or passed to Self::Exit
//
//   Task<absl::Status> Watcher(Self self, Pid worker) {
//     self.TrapExits();
//     self.Link(worker);
//     Exit e = co_await self.Receive<Exit>();
//     if (!IsNormalExit(e.reason)) LOG(...) << e.from << " failed: " << e.reason;
//     co_return absl::OkStatus();
//   }
#pragma once

#include <ostream>

#include "absl/status/status.h"
#include "snow/core/pid.h"
#include "snow/core/ref.h"

namespace snow {

inline absl::Status NormalReason() { return absl::OkStatus(); }
inline absl::Status KillReason() { return absl::AbortedError("kill"); }
inline absl::Status KilledReason() { return absl::AbortedError("killed"); }
inline absl::Status ShutdownReason() { return absl::CancelledError("shutdown"); }
inline absl::Status NoProcReason() { return absl::NotFoundError("noproc"); }
inline absl::Status NoConnectionReason() { return absl::UnavailableError("noconnection"); }

inline bool IsNormalExit(const absl::Status& reason) { return reason.ok(); }
inline bool IsKill(const absl::Status& reason) {
  return reason.code() == absl::StatusCode::kAborted && reason.message() == "kill";
}
// shutdown, or "shutdown: <why>" (a supervisor that gave up says why): with normal, the
// reasons after which a transient child is not restarted.
inline bool IsShutdown(const absl::Status& reason) {
  if (reason.code() != absl::StatusCode::kCancelled) return false;
  absl::string_view m = reason.message();
  return m == "shutdown" || (m.size() > 10 && m.substr(0, 10) == "shutdown: ");
}

// What an actor that traps exits receives instead of dying: `from` (a linked actor, or whoever
// called SendExit) ended or signalled with `reason`.
struct Exit {
  Pid from;
  absl::Status reason;

  friend std::ostream& operator<<(std::ostream& os, const Exit& e) {
    return os << "Exit{" << e.from << ", " << e.reason << "}";
  }
};

// What a monitor delivers, once: the actor `pid` watched through `ref` ended with `reason`
// (noproc if it was already dead when the monitor was set).
struct Down {
  Ref ref;
  Pid pid;
  absl::Status reason;

  friend std::ostream& operator<<(std::ostream& os, const Down& d) {
    return os << "Down{" << d.ref << ", " << d.pid << ", " << d.reason << "}";
  }
};

}  // namespace snow
