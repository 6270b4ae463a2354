#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <typeinfo>

#include "snow/core/internal/envelope.h"

namespace snow::core_internal {

const char* DemangledName(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> demangled(
      abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), &std::free);
  const char* name = status == 0 && demangled != nullptr ? demangled.get() : type.name();
  // Each type asks once (TypeName's static) and keeps the copy for the process's life.
  std::size_t length = std::strlen(name);
  char* copy = new char[length + 1];
  std::memcpy(copy, name, length + 1);
  return copy;
}

}  // namespace snow::core_internal
