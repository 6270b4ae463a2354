// File: dist/internal/named_call.h
//
// A call by name (dist::Call to a dist::Named server) as it travels (PROTOCOL.md §4.1): a message
// to the peer's name service, a PID no actor has. The peer resolves `name`, sets up the
// monitor `from` asked for under `ref` on whatever the name names (on the name service itself
// when it names nothing, which answers with a noproc Down), and delivers `request` to it.
// Resolving and monitoring in one step is what lets the call take one round trip.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

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

}  // namespace snow::dist_internal
