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
// The server may be on another node: the call is the same, once the request type is registered
// for the wire on both nodes (dist::RegisterMessage<GetCount>() registers the request, its
// reply and the reply's type together). A server keeps `from` to answer later, from any actor
// on any node (a deferred reply).
//
// Call fails with
//   kDeadlineExceeded  no reply within the timeout;
//   kNotFound          the server was dead or unknown (noproc);
//   the server's exit reason (its code, with the message prefixed) when it ended before
//                      replying — at once, not at the timeout (Call monitors the server);
//   kUnavailable       (noconnection) the server's node is not connected, or its connection was
//                      lost during the call — at once, not at the timeout;
//   kInvalidArgument   a call to oneself, which could never be answered;
//   kFailedPrecondition a call to another node with a request type not registered for the wire.
// A reply that comes after Call gave up never lands in the caller's mailbox: it is dropped
// (and counted in RuntimeStats::messages_dropped).
#pragma once

#include <string>
#include <string_view>
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

// A call's reply on its way to the caller: the call's ref and the value. A transport carries it
// between nodes (dist::RegisterMessage<Req> registers it for Req::Reply).
template <typename R>
struct CallReply {
  Ref ref;
  R value;
};

namespace core_internal {

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
inline constinit MessageType kReplyType = {&DestroyBoxed<CallReply<R>>, &RunReply<R>,
                                           &TypeName<CallReply<R>>, nullptr};

// A reply that arrives from another node is the same control item as a local one.
template <typename R>
struct ArrivalType<CallReply<R>> {
  static const MessageType* Get() { return &kReplyType<R>; }
};

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

absl::Status CallTimedOut(const std::string& server, absl::Duration timeout);
absl::Status CalleeEnded(const std::string& server, const absl::Status& reason);
absl::Status NotRegisteredForCalls(const std::string& server, const char* request_type);

}  // namespace core_internal

// Sends `value` as the reply to a call. Like Send: never blocks, never fails. `self`, the
// replying actor, leaves from its own shard: the one running it.
template <typename R, typename V>
void Reply([[maybe_unused]] Self self, ReplyTo<R> to, V&& value) {
  auto* e =
      core_internal::Box<CallReply<R>>(to.pid, CallReply<R>{to.ref, R(std::forward<V>(value))});
  e->type = &core_internal::kReplyType<R>;
  core_internal::Shard::Current()->RouteSignal(e);
}

// Waits up to `timeout` for the reply to the call whose request went out under monitor `ref` of
// the server (Self::Monitor, or remote::NoteMonitor), then takes the monitor down. The second half
// of Call, for a transport that sends a request its own way (dist's call by name). Errors name
// the server as `server_text`, or by `server`'s text (made only then) when that is empty: a
// call that succeeds formats nothing.
template <typename R>
Task<absl::StatusOr<R>> AwaitReply(Self self, Ref ref, Pid server, std::string server_text,
                                   absl::Duration timeout) {
  core_internal::ActorCell* cell = core_internal::SelfAccess::Cell(self);
  core_internal::CallMatcher<R> matcher{ref.bits()};
  absl::StatusOr<std::variant<CallReply<R>, Down>> got =
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
    co_return core_internal::CallTimedOut(
        server_text.empty() ? self.runtime().PidText(server) : server_text, timeout);
  }
  if (auto* reply = std::get_if<CallReply<R>>(&*got)) {
    self.Demonitor(ref, DemonitorOption::kFlush);
    co_return std::move(reply->value);
  }
  co_return core_internal::CalleeEnded(
      server_text.empty() ? self.runtime().PidText(server) : server_text,
      std::get<Down>(*got).reason);
}

// Sends `request` to `server` and waits up to `timeout` for its reply (see the file comment
// for the errors). Cancellation: if the caller is killed while waiting, its monitor dies with
// it and the server's reply is dropped.
template <typename Req>
Task<absl::StatusOr<typename Req::Reply>> Call(Self self, Pid server, Req request,
                                               absl::Duration timeout) {
  using R = typename Req::Reply;
  if (server == self.pid()) {
    co_return absl::InvalidArgumentError(absl::StrCat(
        "Call from ", self.runtime().PidText(self.pid()), " to itself would never be answered"));
  }
  if (!server.is_local() && core_internal::TypeOf<Request<Req>>()->remote.load(
                                std::memory_order_acquire) == nullptr) [[unlikely]] {
    co_return core_internal::NotRegisteredForCalls(self.runtime().PidText(server),
                                                   core_internal::TypeName<Req>());
  }
  Ref ref = self.Monitor(server);  // also marks the mailbox: the reply can only come after it
  self.Send(server, Request<Req>{std::move(request), ReplyTo<R>{self.pid(), ref}});
  co_return co_await AwaitReply<R>(self, ref, server, std::string(), timeout);
}

// Sends `message` one-way. The same as Self::Send; named for readers of gen_server code.
template <typename T>
void Cast(Self self, Pid server, T&& message) {
  self.Send(server, std::forward<T>(message));
}

}  // namespace snow
