// File: core/service.h
//
// Services, the gen_server pattern: Call sends a request and waits for its reply; Cast sends
// one-way. A request type names its reply type, so a server cannot answer with the wrong one:
//
//   struct GetCount { using Reply = int; };
//   struct Add { int n; };
//
//   Task<absl::Status> Counter(Self self) {
//     int count = 0;
//     for (;;) {
//       auto m = co_await self.Receive<Request<GetCount>, Add>();
//       if (auto* get = std::get_if<Request<GetCount>>(&m)) {
//         Reply(self, get->from, count);
//       } else {
//         count += std::get<Add>(m).n;
//       }
//     }
//   }
//
//   Cast(self, counter, Add{2});
//   absl::StatusOr<int> n = co_await Call(self, counter, GetCount{}, absl::Seconds(1));
//
// Call fails with
//   kDeadlineExceeded  no reply within the timeout;
//   kNotFound          the server was dead or unknown (noproc);
//   the server's exit reason (its code, with the message prefixed) when it ended before
//                      replying — at once, not at the timeout (Call monitors the server);
//   kInvalidArgument   a call to oneself, which could never be answered;
//   kUnimplemented     a call to a PID on another node: replies have no wire form yet, so such a
//                      call fails at once instead of waiting out its timeout. Send a request
//                      that carries your PID, and receive the answer, instead.
// A reply that comes after Call gave up never lands in the caller's mailbox: it is dropped
// (and counted in RuntimeStats::messages_dropped).
#pragma once

#include <type_traits>
#include <utility>
#include <variant>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "snow/core/actor.h"
#include "snow/core/exit_reason.h"
#include "snow/core/internal/envelope.h"
#include "snow/core/internal/shard.h"
#include "snow/core/pid.h"
#include "snow/core/ref.h"
#include "snow/core/runtime.h"
#include "snow/core/task.h"

namespace snow {

// Where the reply to a call goes. Keep it to reply later (a deferred reply).
template <typename R>
struct ReplyTo {
  Pid pid;
  Ref ref;
};

// A call as the server receives it: `body` and where to reply.
template <typename Req>
struct Request {
  static_assert(
      requires { typename Req::Reply; },
      "a request type names its reply: struct Get { using Reply = int; };");
  Req body;
  ReplyTo<typename Req::Reply> from;
};

namespace core_internal {

template <typename R>
struct CallReply {
  Ref ref;
  R value;
};

// A reply travels as a control item and becomes a message only if its caller still waits for
// it (holds the call's monitor): a late reply is dropped on arrival instead of left as a stray.
template <typename R>
void RunReply(Envelope* e, Shard& shard) {
  ActorCell* cell = shard.Find(e->to);
  uint64_t ref = static_cast<Boxed<CallReply<R>>*>(e)->value.ref.bits();
  if (cell == nullptr || cell->extras == nullptr || !cell->extras->monitoring.contains(ref)) {
    shard.Drop(e);
    return;
  }
  e->type = TypeOf<CallReply<R>>();
  shard.Deliver(cell, e);
}

template <typename R>
inline constexpr MessageType kReplyType = {&DestroyBoxed<CallReply<R>>, &RunReply<R>,
                                           &TypeName<CallReply<R>>, nullptr};

// Takes the reply or the Down of call `ref`.
template <typename R>
struct CallMatcher {
  using Value = std::variant<CallReply<R>, Down>;
  bool Matches(const Envelope* e) const {
    if (e->type == TypeOf<CallReply<R>>()) {
      return static_cast<const Boxed<CallReply<R>>*>(e)->value.ref.bits() == ref;
    }
    return e->type == TypeOf<Down>() && static_cast<const Boxed<Down>*>(e)->value.ref.bits() == ref;
  }
  static const MessageType* OnlyType() { return nullptr; }
  static Value Take(Envelope* e) {
    if (e->type == TypeOf<Down>()) return TakeValue<Down>(e);
    return TakeValue<CallReply<R>>(e);
  }
  uint64_t ref;
};

absl::Status CallTimedOut(Pid to, absl::Duration timeout);
absl::Status CalleeEnded(Pid to, const absl::Status& reason);

}  // namespace core_internal

// Sends `value` as the reply to a call. Like Send: never blocks, never fails. `self`, the
// replying actor, leaves from its own shard: the one running it.
template <typename R, typename V>
void Reply([[maybe_unused]] Self self, ReplyTo<R> to, V&& value) {
  auto* e = core_internal::Box<core_internal::CallReply<R>>(
      to.pid, core_internal::CallReply<R>{to.ref, R(std::forward<V>(value))});
  e->type = &core_internal::kReplyType<R>;
  core_internal::Shard::Current()->RouteSignal(e);
}

// Sends `request` to `server` and waits up to `timeout` for its reply (see the file comment
// for the errors). Cancellation: if the caller is killed while waiting, its monitor dies with
// it and the server's reply is dropped.
template <typename Req>
Task<absl::StatusOr<typename Req::Reply>> Call(Self self, Pid server, Req request,
                                               absl::Duration timeout) {
  using R = typename Req::Reply;
  if (server == self.pid()) {
    co_return absl::InvalidArgumentError(
        absl::StrCat("Call from ", self.pid().ToString(), " to itself would never be answered"));
  }
  if (!server.is_local()) {
    co_return absl::UnimplementedError(absl::StrCat(
        "Call to ", self.runtime().PidText(server),
        ", a PID on another node: remote Call is not built yet; send a request carrying your "
        "PID and receive the reply instead"));
  }
  Ref ref = self.Monitor(server);  // also marks the mailbox: the reply can only come after it
  self.Send(server, Request<Req>{std::move(request), ReplyTo<R>{self.pid(), ref}});
  core_internal::ActorCell* cell = core_internal::SelfAccess::Cell(self);
  core_internal::CallMatcher<R> matcher{ref.bits()};
  absl::StatusOr<std::variant<core_internal::CallReply<R>, Down>> got =
      co_await core_internal::ReceiveAwaiter<core_internal::CallMatcher<R>, true>(
          cell, matcher, core_internal::ToTimeoutNanos(timeout), cell->MarkerFor(ref.bits()));
  if (!got.ok()) {
    // The reply may have arrived between the timer firing and this resumption: look once more.
    core_internal::Envelope** from = cell->MarkerFor(ref.bits());
    got = co_await core_internal::ReceiveAwaiter<core_internal::CallMatcher<R>, true>(cell, matcher,
                                                                                      0, from);
  }
  if (!got.ok()) {
    // Dropping the monitor also stops a reply still on its way.
    self.Demonitor(ref, DemonitorOption::kFlush);
    co_return core_internal::CallTimedOut(server, timeout);
  }
  if (auto* reply = std::get_if<core_internal::CallReply<R>>(&*got)) {
    self.Demonitor(ref, DemonitorOption::kFlush);
    co_return std::move(reply->value);
  }
  co_return core_internal::CalleeEnded(server, std::get<Down>(*got).reason);
}

// Sends `message` one-way. The same as Self::Send; named for readers of gen_server code.
template <typename T>
void Cast(Self self, Pid server, T&& message) {
  self.Send(server, std::forward<T>(message));
}

}  // namespace snow
