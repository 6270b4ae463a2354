// wire/erased.h — the dynamic path for values whose type is only known at run time (a message in
// core's mailbox, about to be sent to a remote pid): ErasedCodec captures, at the point where the
// type is still known, how to encode and decode it — or that it cannot cross the wire.
//
// Where the typed path rejects closures, function pointers and raw pointers at compile time, a
// type-erased holder cannot: ErasedCodecFor<T>() accepts any T and records "not wireable", and
// EncodeErased then fails with kInvalidArgument naming the type, so the sender gets a clear status
// (and dist/ can count the undeliverable message: nothing is lost silently) instead of a crash.
//
//   constexpr snow::wire::ErasedCodec kCodec = snow::wire::ErasedCodecFor<Ping>();
//   absl::Status s = snow::wire::EncodeErased(kCodec, &ping, buf);  // OK
//   auto lambda = [] {};
//   s = snow::wire::EncodeErased(snow::wire::ErasedCodecFor<decltype(lambda)>(), &lambda, buf);
//   // INVALID_ARGUMENT: ... cannot cross the wire ...
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/codec.h"
#include "snow/wire/internal/type_name.h"
#include "snow/wire/limits.h"

namespace snow::wire {

struct ErasedCodec {
  std::string_view type_name;
  void (*encode)(Writer& w, const void* value) = nullptr;  // nullptr: cannot cross the wire
  bool (*decode)(Reader& r, void* out) = nullptr;
  constexpr bool wireable() const { return encode != nullptr; }
};

template <class T>
constexpr ErasedCodec ErasedCodecFor() {
  if constexpr (Wireable<T> && std::is_default_constructible_v<T>) {
    return ErasedCodec{wire_internal::TypeName<T>(),
                       [](Writer& w, const void* v) { EncodeValue(w, *static_cast<const T*>(v)); },
                       [](Reader& r, void* out) { return DecodeValue(r, *static_cast<T*>(out)); }};
  } else {
    return ErasedCodec{wire_internal::TypeName<T>(), nullptr, nullptr};
  }
}

// Encodes *value (of the type `codec` was made for) like Encode. kInvalidArgument, naming the
// type, if it cannot cross the wire; otherwise Encode's errors. On error `out` is unchanged.
absl::Status EncodeErased(const ErasedCodec& codec, const void* value, ByteBuffer& out,
                          const EncodeOptions& options = {});

// Decodes into *out (a live object of the codec's type), like DecodeInto.
absl::Status DecodeErased(const ErasedCodec& codec, ByteSpan bytes, void* out,
                          const DecodeLimits& limits = {}, CodecContext* context = nullptr);

}  // namespace snow::wire
