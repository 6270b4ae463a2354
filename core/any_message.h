// File: core/any_message.h
//
// AnyMessage: a message of whatever type, for the receive that takes anything (Erlang's `_ ->`).
//
//   for (;;) {
//     auto m = co_await self.Receive<Request<Get>, Put, AnyMessage>();
//     if (auto* get = std::get_if<Request<Get>>(&m)) {
//       ...
//     } else if (auto* put = std::get_if<Put>(&m)) {
//       ...
//     } else {
//       std::fprintf(stderr, "unexpected %s\n",
//       std::string(std::get<AnyMessage>(m).type_name()).c_str());
//     }  // an AnyMessage that goes out of scope drops its message
//   }
//
// A receive that names AnyMessage takes the first message in the mailbox, whatever it is: a
// message of one of the other types it names comes as that type, anything else as an
// AnyMessage. Exit and Down messages are messages too, so a catch-all takes them as well.
//
// Draining what no receive will ever ask for, without waiting:
//   while (absl::StatusOr<AnyMessage> m = co_await
//   self.ReceiveFor<AnyMessage>(absl::ZeroDuration());
//          m.ok()) { ... m->type_name() ... }
//
// A catch-all in one TaskGroup child takes messages another child may be waiting for (a
// Call's reply): each message goes to the receive that waited longest among those it matches.
#pragma once

#include <optional>
#include <string_view>
#include <utility>

#include "snow/core/internal/envelope.h"

namespace snow {

namespace core_internal {
struct AnyMessageAccess;
}

class AnyMessage {
 public:
  AnyMessage(AnyMessage&& other) noexcept : e_(std::exchange(other.e_, nullptr)) {}
  AnyMessage& operator=(AnyMessage&& other) noexcept {
    if (this != &other) {
      Reset();
      e_ = std::exchange(other.e_, nullptr);
    }
    return *this;
  }
  ~AnyMessage() { Reset(); }

  // The message's C++ type, demangled ("snow::Request<Get>"); empty once taken.
  std::string_view type_name() const {
    return e_ != nullptr ? std::string_view(e_->type->name()) : std::string_view();
  }
  template <typename T>
  bool Is() const {
    return e_ != nullptr && e_->type == core_internal::TypeOf<T>();
  }
  // The message if it is a T (it stays owned by this object), else nullptr.
  template <typename T>
  T* As() {
    return Is<T>() ? &static_cast<core_internal::Boxed<T>*>(e_)->value : nullptr;
  }
  // Moves the message out if it is a T (this object is then empty), else nullopt.
  template <typename T>
  std::optional<T> Take() {
    if (!Is<T>()) return std::nullopt;
    std::optional<T> value(std::move(static_cast<core_internal::Boxed<T>*>(e_)->value));
    Reset();
    return value;
  }

 private:
  friend struct core_internal::AnyMessageAccess;
  explicit AnyMessage(core_internal::Envelope* e) : e_(e) {}
  void Reset() {
    if (e_ != nullptr) core_internal::Destroy(std::exchange(e_, nullptr));
  }

  core_internal::Envelope* e_;
};

namespace core_internal {
struct AnyMessageAccess {
  static AnyMessage Wrap(Envelope* e) { return AnyMessage(e); }
};
}  // namespace core_internal

}  // namespace snow
