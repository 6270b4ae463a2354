// wire/internal/box.h — Box<T>: a heap-allocated T with value semantics (deep copy, deep
// equality), so that Term can hold rarely used large payloads without growing every Term.
//
//   snow::wire_internal::Box<std::string> a(std::string("x"));
//   auto b = a;   // copies the string
#pragma once

#include <memory>
#include <utility>

namespace snow::wire_internal {

template <class T>
class Box {
 public:
  explicit Box(T value) : p_(std::make_unique<T>(std::move(value))) {}
  Box(const Box& other) : p_(std::make_unique<T>(*other.p_)) {}
  Box& operator=(const Box& other) {
    if (this != &other) p_ = std::make_unique<T>(*other.p_);
    return *this;
  }
  Box(Box&&) noexcept = default;
  Box& operator=(Box&&) noexcept = default;

  const T& operator*() const { return *p_; }
  T& operator*() { return *p_; }
  const T* operator->() const { return p_.get(); }
  T* operator->() { return p_.get(); }

 private:
  std::unique_ptr<T> p_;  // never null except after being moved from
};

}  // namespace snow::wire_internal
