// File: core/mailbox.h
//
// Bounded mailboxes. By default a mailbox grows without limit, as in Erlang; an actor spawned
// with SpawnOptions::max_mailbox holds at most that many messages waiting, and a message that
// finds it full meets the actor's MailboxOverflow policy:
//
//   Pid logger = self.Spawn({.max_mailbox = 10'000, .overflow = MailboxOverflow::kDropOldest},
//                           Logger);
//
// Every message lost to a bound is counted, in RuntimeStats::mailbox_overflows and, like a send
// to a dead PID, in RuntimeStats::messages_dropped. The bound holds for messages from other
// nodes too (they are delivered the same way). What the actor itself asked for always gets in,
// even past the bound (it is bounded by the actor's own calls, monitors and links): the replies
// to its calls, and the Down and Exit notices of its monitors and links.
#pragma once

#include <cstdint>

#include "absl/status/status.h"

namespace snow {

enum class MailboxOverflow : uint8_t {
  kDropNew,     // the arriving message is dropped
  kDropOldest,  // the oldest waiting message is dropped to make room for it
  kKill,        // the actor ends with MailboxOverflowReason() (the arriving message is dropped)
};

// The exit reason of an actor killed by MailboxOverflow::kKill.
inline absl::Status MailboxOverflowReason() {
  return absl::ResourceExhaustedError("mailbox_overflow");
}

}  // namespace snow
