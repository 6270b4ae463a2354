#include "snow/wire/erased.h"

#include "absl/strings/str_format.h"

namespace snow::wire {
namespace {

absl::Status NotWireable(const ErasedCodec& codec) {
  return absl::InvalidArgumentError(absl::StrFormat(
      "stf: a value of type '%s' cannot cross the wire: it has no wire codec (closures, "
      "function pointers and raw pointers are local-only; structs need kWireName + WireFields)",
      codec.type_name));
}

}  // namespace

absl::Status EncodeErased(const ErasedCodec& codec, const void* value, ByteBuffer& out,
                          const EncodeOptions& options) {
  if (!codec.wireable()) return NotWireable(codec);
  const size_t start = out.size();
  absl::Status status;
  {
    Writer w(out, options);
    w.WriteVersion();
    codec.encode(w, value);
    status = w.Finish();
  }
  if (!status.ok()) out.Truncate(start);
  return status;
}

absl::Status DecodeErased(const ErasedCodec& codec, ByteSpan bytes, void* out,
                          const DecodeLimits& limits, CodecContext* context) {
  if (codec.decode == nullptr) return NotWireable(codec);
  Reader r(bytes, limits, context);
  if (r.ReadVersion() && codec.decode(r, out)) r.ExpectEnd();
  return r.status();
}

}  // namespace snow::wire
