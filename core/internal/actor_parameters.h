// File: core/internal/actor_parameters.h
//
// Compile-time checks of an actor function's parameters. Spawn copies its arguments into the
// new actor's coroutine frame, which outlives the call that made it: a parameter that refers to
// the caller's data (a reference, a view, a span, a raw pointer) would dangle as soon as the
// caller moves on, and crash on the actor's first resume. These checks turn that into a
// compile error at the Spawn.
#pragma once

#include <cstddef>
#include <functional>
#include <initializer_list>
#include <span>
#include <string_view>
#include <type_traits>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace snow::core_internal {

template <typename... Ts>
struct TypeList {};

// The parameters of an actor function, where they can be known: a function (pointer), or a
// lambda or function object with one non-template call operator. Generic lambdas are unknown.
template <typename Fn>
struct ActorSignature {
  static constexpr bool kKnown = false;
};
template <typename R, typename... Ps>
struct ActorSignature<R (*)(Ps...)> {
  static constexpr bool kKnown = true;
  using Parameters = TypeList<Ps...>;
};
template <typename R, typename... Ps>
struct ActorSignature<R (*)(Ps...) noexcept> : ActorSignature<R (*)(Ps...)> {};
template <typename R, typename C, typename... Ps>
struct ActorSignature<R (C::*)(Ps...) const> : ActorSignature<R (*)(Ps...)> {};
template <typename R, typename C, typename... Ps>
struct ActorSignature<R (C::*)(Ps...) const noexcept> : ActorSignature<R (*)(Ps...)> {};
template <typename R, typename C, typename... Ps>
struct ActorSignature<R (C::*)(Ps...)> : ActorSignature<R (*)(Ps...)> {};
template <typename Fn>
requires requires { &Fn::operator(); }
struct ActorSignature<Fn> : ActorSignature<decltype(&Fn::operator())> {};

// Types that only look at memory someone else owns.
template <typename T>
struct IsView : std::bool_constant<std::is_same_v<T, absl::string_view>> {};
template <typename C, typename Traits>
struct IsView<std::basic_string_view<C, Traits>> : std::true_type {};
template <typename T, std::size_t N>
struct IsView<std::span<T, N>> : std::true_type {};
template <typename T>
struct IsView<absl::Span<T>> : std::true_type {};
template <typename T>
struct IsView<std::initializer_list<T>> : std::true_type {};

template <typename T>
constexpr void CheckActorParameter() {
  // std::reference_wrapper (std::ref) is allowed: a visible promise that the referent outlives
  // the actor, as with std::thread.
  static_assert(!std::is_reference_v<T>,
                "an actor's parameters must be values: a reference parameter would refer to the "
                "spawner's argument after Spawn returns. Take the parameter by value (it is moved "
                "into the actor), or pass std::ref(x) to a std::reference_wrapper<T> parameter if "
                "x provably outlives the actor");
  static_assert(!IsView<std::remove_cv_t<T>>::value,
                "an actor's parameters must own their data: a string_view, span or "
                "initializer_list parameter would point into the spawner's memory after Spawn "
                "returns. Take std::string or std::vector instead");
  static_assert(!std::is_pointer_v<T> || std::is_function_v<std::remove_pointer_t<T>>,
                "an actor's parameters must not be raw pointers: what they point to may be gone "
                "before the actor runs. Pass a value or a std::shared_ptr, or std::ref(x) to a "
                "std::reference_wrapper<T> parameter if x provably outlives the actor");
}

template <typename... Ps>
constexpr void CheckActorParameters(TypeList<Ps...>) {
  (CheckActorParameter<Ps>(), ...);
}

// Checks every parameter of `Fn` that can be known (see ActorSignature).
template <typename Fn>
constexpr void CheckActorFunction() {
  if constexpr (ActorSignature<Fn>::kKnown) {
    CheckActorParameters(typename ActorSignature<Fn>::Parameters{});
  }
}

}  // namespace snow::core_internal
