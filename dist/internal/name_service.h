// File: dist/internal/name_service.h
//
// What a node's name service handles (PROTOCOL.md §4.1, §4.2): messages to a PID no actor has,
// which the receiving node acts on itself.
//
// NamedCall, a call by name (dist::Call(self, name, node, ...)): the peer resolves `name`, sets
// up the monitor `from` asked for under `ref` on whatever the name names (on the name service
// itself when it names nothing, which answers with a noproc Down), and delivers `request` to it.
// Resolving and monitoring in one step is what lets the call take one round trip.
//
// SpawnRequest, a remote spawn (dist/spawn.h): the peer starts the function registered as
// `function` with `args`, linked to or monitored by `from` from before it runs, and replies
// StatusOr<Pid> to the call `ref` (a CallReply, as a server would).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "snow/core/pid.h"
#include "snow/dist/message.h"
#include "snow/wire/codec.h"

namespace snow::dist_internal {

// The serial of a node's name service, on its shard 0: the largest, which no actor is given.
inline constexpr uint64_t kNameServiceSerial = Pid::kMaxSerial;

inline bool IsNameService(Pid pid) {
  return pid.shard() == 0 && pid.serial() == kNameServiceSerial;
}

struct NamedCall {
  static constexpr std::string_view kWireName = "snow.NamedCall";
  std::string name;      // registered on the peer
  std::string type;      // the request's wire name
  Pid from;              // the caller, which monitors
  uint64_t ref = 0;      // the caller's monitor ref
  wire::Binary request;  // a term of `type` (version byte first)
  friend auto WireFields(NamedCall& c) {
    return wire::Fields("name", c.name, "type", c.type, "from", c.from, "ref", c.ref, "request",
                        c.request);
  }
};

struct SpawnRequest {
  static constexpr std::string_view kWireName = "snow.SpawnRequest";
  using Reply = absl::StatusOr<Pid>;  // registers the reply's wire form with this type
  std::string function;               // registered with dist::RegisterSpawnable on the peer
  Pid from;                           // the caller: the child's parent
  uint64_t ref = 0;                   // the call's ref, which the reply carries
  bool link = false;                  // link the child to `from`
  uint64_t monitor_ref = 0;           // nonzero: `from` monitors the child under this ref
  wire::Binary args;                  // a tuple term of the arguments (version byte first)
  friend auto WireFields(SpawnRequest& s) {
    return wire::Fields("function", s.function, "from", s.from, "ref", s.ref, "link", s.link,
                        "monitor_ref", s.monitor_ref, "args", s.args);
  }
};

}  // namespace snow::dist_internal
