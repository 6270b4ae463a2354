// wire/codec.h — the typed path: encode and decode C++ objects straight to and from STF bytes,
// with no Term in between, and the Codec<T> customisation point behind it.
//
// Works with no user code for: bool, integers, enums (as their underlying integer), float and
// double, std::string / std::string_view, Binary / BinaryView and byte vectors, Unit /
// std::monostate, Atom, NodeName, Pid / PidView, Reference / ReferenceView, std::vector,
// std::array, std::set / unordered_set / absl::flat_hash_set, std::map / unordered_map /
// absl::flat_hash_map, std::pair, std::tuple, std::optional, std::unique_ptr (as an optional),
// std::variant, absl::Status and absl::StatusOr<T> (as results), and Term (term.h).
//
// A user struct opts in with one short declaration beside its members — its stable wire name and
// its fields' names, in declaration order (struct.h; no macros, no type-id table):
//
//   struct Ping {
//     snow::wire::Pid from;
//     int64_t n = 0;
//     std::optional<std::string> note;  // optional fields may be absent on the wire
//     static constexpr snow::wire::Struct kWire{"demo.Ping", "from", "n", "note"};
//   };
//   snow::wire::ByteBuffer buf;
//   absl::Status s = snow::wire::Encode(Ping{...}, buf);
//   absl::StatusOr<Ping> p = snow::wire::Decode<Ping>(buf);
//
// (A message for other nodes says snow::dist::Message<Ping> instead of snow::wire::Struct, which
// also registers it: dist/message.h.) A struct that is not an aggregate, or whose wire fields are
// not simply its members, names them with a hook instead, used for both directions:
//
//   struct Ping {
//     static constexpr std::string_view kWireName = "demo.Ping";
//     ...
//     friend auto WireFields(Ping& p) { return snow::wire::Fields("from", p.from, "n", p.n,
//                                                                 "note", p.note); }
//   };
//
// The names passed to Fields are kept as string_views and must be the same constants for every
// object of the type (string literals): they are checked once per type, not per message.
//
// Fields are matched by name (STF.md §7): another program may send them in any order (fine),
// with extra fields (skipped, after validation), or without some (an error, kInvalidArgument,
// unless the field is a std::optional or std::unique_ptr, which is then left empty).
//
// A named sum type is a struct deriving from std::variant of wire structs, plus kWireName:
//
//   struct Shape : std::variant<Circle, Rect> {
//     using variant::variant;
//     static constexpr std::string_view kWireName = "geo.Shape";
//   };
//
// A plain std::variant<A, B> is written as its active alternative; decoding picks the first
// alternative whose kind (and, for structs, wire name) matches what arrived.
//
// Types wire does not own get a Codec specialisation, declared before their first use:
//
//   template <> struct snow::wire::Codec<Celsius> {
//     static constexpr snow::wire::KindMask kKinds = snow::wire::KindBit(snow::wire::Kind::kFloat);
//     static void Encode(snow::wire::Writer& w, const Celsius& c) { w.WriteFloat(c.value); }
//     static bool Decode(snow::wire::Reader& r, Celsius& c) { return r.ReadFloat(&c.value); }
//   };
//
// That is how dist/ maps core's 64-bit snow::Pid, which only makes sense with the connection's
// node table: dist/ passes that table as a CodecContext (EncodeOptions::context, the `context`
// argument of Decode), and its codec writes and reads the wire Pid form. Reading into a PidView
// allocates nothing. What an unknown node or an old creation means is the codec's decision
// (ARCHITECTURE.md, "PIDs": a pid of an earlier incarnation is a dead pid, not bad input):
//
//   template <> struct snow::wire::Codec<snow::Pid> {
//     static constexpr KindMask kKinds = KindBit(Kind::kPid);
//     static void Encode(Writer& w, const snow::Pid& p) {
//       auto* nodes = static_cast<dist::NodeTable*>(w.context());
//       w.WritePid(PidView{nodes->Name(p), nodes->Creation(p), p.shard(), p.serial()});
//     }
//     static bool Decode(Reader& r, snow::Pid& p) {
//       PidView v;
//       if (!r.ReadPid(&v)) return false;
//       auto* nodes = static_cast<dist::NodeTable*>(r.context());
//       if (nodes->Resolve(v, &p)) return true;  // an old creation resolves to a dead pid
//       return r.Fail(absl::StatusCode::kNotFound, "pid of a node this link never named");
//     }
//   };
//
// Closures, function objects, function pointers, member pointers and raw pointers are rejected at
// compile time with a static_assert that says so.
#pragma once

#include <array>
#include <bitset>
#include <concepts>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <variant>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/internal/aggregate.h"
#include "snow/wire/internal/strings.h"
#include "snow/wire/internal/type_name.h"
#include "snow/wire/limits.h"
#include "snow/wire/reader.h"
#include "snow/wire/struct.h"
#include "snow/wire/types.h"
#include "snow/wire/writer.h"

namespace snow::wire {

// The customisation point. A specialisation provides
//   static void Encode(Writer& w, const T& value);   // errors via w.Fail(status)
//   static bool Decode(Reader& r, T& out);           // false after r.Fail(...) or a failed read
// and optionally `static constexpr KindMask kKinds`, the kinds Decode accepts, which lets
// std::variant pick the alternative (without it, the type claims every kind). Specialise it
// before first use in a translation unit.
template <class T>
struct Codec;

using KindMask = uint32_t;
constexpr KindMask KindBit(Kind k) { return KindMask{1} << static_cast<int>(k); }
inline constexpr KindMask kAnyKind = ~KindMask{0};

// One named field of a struct: what WireFields returns a tuple of.
template <class T>
struct Field {
  std::string_view name;
  T& value;
};

}  // namespace snow::wire

namespace snow::wire_internal {
template <class Tuple, size_t... I>
constexpr auto MakeFields([[maybe_unused]] Tuple t, std::index_sequence<I...>) {
  return std::tuple{
      ::snow::wire::Field<std::remove_reference_t<std::tuple_element_t<2 * I + 1, Tuple>>>{
          std::string_view(std::get<2 * I>(t)), std::get<2 * I + 1>(t)}...};
}
}  // namespace snow::wire_internal

namespace snow::wire {

// Fields("a", obj.a, "b", obj.b, ...): alternating names (string literals) and members.
template <class... A>
constexpr auto Fields(A&&... args) {
  static_assert(sizeof...(A) % 2 == 0, "snow::wire::Fields takes (name, member) pairs");
  return wire_internal::MakeFields(std::forward_as_tuple(args...),
                                   std::make_index_sequence<sizeof...(A) / 2>{});
}

}  // namespace snow::wire

namespace snow::wire_internal {

using ::snow::wire::Codec;
using ::snow::wire::Kind;
using ::snow::wire::KindBit;
using ::snow::wire::KindMask;
using ::snow::wire::Reader;
using ::snow::wire::Writer;

template <class T>
concept HasCodec = requires {
  sizeof(Codec<T>);
};

// The short form: `static constexpr wire::Struct kWire{name, field names...}` (struct.h).
template <class T>
concept HasWireStruct = std::is_class_v<T> && requires {
  { T::kWire } -> std::convertible_to<const ::snow::wire::Struct&>;
};

template <class T>
concept HasWireName = HasWireStruct<T> || requires {
  { T::kWireName } -> std::convertible_to<std::string_view>;
};

template <class T>
concept HasWireFields = std::is_class_v<T> &&
    (HasWireStruct<T> || (HasWireName<T> && requires(T & t) { WireFields(t); }));

// The wire name of a struct or named variant, from either form.
template <class T>
constexpr std::string_view NameOf() {
  if constexpr (HasWireStruct<T>) {
    return static_cast<const ::snow::wire::Struct&>(T::kWire).name;
  } else {
    return T::kWireName;
  }
}
template <class T>
inline constexpr std::string_view kNameOf = NameOf<T>();

template <class... A>
std::true_type VariantBaseTest(const std::variant<A...>*);
std::false_type VariantBaseTest(...);
template <class... A>
std::variant<A...> VariantBaseOf(const std::variant<A...>*);

template <class T>
struct IsStdVariant : std::false_type {};
template <class... A>
struct IsStdVariant<std::variant<A...>> : std::true_type {};

template <class T>
concept NamedVariant =
    std::is_class_v<T> && HasWireName<T> && !HasWireFields<T> && !IsStdVariant<T>::value &&
    decltype(VariantBaseTest(static_cast<T*>(nullptr)))::value;

template <class T>
concept ClosureLike = std::is_class_v<T> && requires {
  &T::operator();
};

template <class T>
inline constexpr bool kIsFunctionPointer =
    std::is_pointer_v<T>&& std::is_function_v<std::remove_pointer_t<T>>;

// Per-type statics whose addresses identify a shape for the Writer's per-term cache.
template <class T>
inline constexpr char kShapeKey = 0;
template <class T, class Alt>
inline constexpr char kVariantShapeKey = 0;

template <class T>
constexpr void AssertWireable() {
  static_assert(!std::is_member_pointer_v<T>,
                "snow::wire: member pointers cannot cross the wire; send the data they point at");
  static_assert(!kIsFunctionPointer<T>,
                "snow::wire: function pointers cannot cross the wire; register the function by "
                "name (remote spawn) and send the name");
  static_assert(!std::is_pointer_v<T> || kIsFunctionPointer<T>,
                "snow::wire: raw pointers cannot cross the wire; send the value itself (or a "
                "std::optional / std::unique_ptr of it), or an id");
  static_assert(!ClosureLike<T> || HasCodec<T>,
                "snow::wire: closures and function objects cannot cross the wire; send data, "
                "and spawn remote code by registered name");
  static_assert(
      HasCodec<T> || std::is_pointer_v<T> || std::is_member_pointer_v<T> || ClosureLike<T>,
      "snow::wire: this type has no wire codec; give it `static constexpr "
      "snow::wire::Struct kWire{\"name\", \"field\"...}` (or kWireName and a WireFields(T&) "
      "hook), or specialise snow::wire::Codec<T> (closures, "
      "function pointers and raw pointers can never cross the wire)");
}

template <class T>
constexpr KindMask KindsOf() {
  if constexpr (requires { Codec<T>::kKinds; }) {
    return Codec<T>::kKinds;
  } else {
    return ::snow::wire::kAnyKind;
  }
}

template <class T>
struct IsOptionalLike : std::false_type {};
template <class T>
struct IsOptionalLike<std::optional<T>> : std::true_type {};
template <class T>
struct IsOptionalLike<std::unique_ptr<T>> : std::true_type {};

// The integer an enum (or integer) travels as.
template <class T, bool = std::is_enum_v<T>>
struct IntegerOf {
  using type = T;
};
template <class T>
struct IntegerOf<T, true> {
  using type = std::underlying_type_t<T>;
};

template <class T>
constexpr bool kPackable = (std::is_integral_v<T> && !std::is_same_v<T, bool>) ||
                           std::is_enum_v<T> || std::is_floating_point_v<T>;

template <class T>
constexpr bool kByteLike =
    std::is_same_v<T, unsigned char> || std::is_same_v<T, char> || std::is_same_v<T, std::byte>;

// How much to reserve for `count` elements of T: at most ~8 bytes of memory per byte of input
// left, so that what a count makes us allocate up front is bounded by the input, whatever T's
// size (STF.md §8); beyond that, containers grow as items actually decode.
template <class T>
size_t ReserveFor(const Reader& r, uint64_t count) {
  const uint64_t budget = (static_cast<uint64_t>(r.remaining()) * 8 + 1024) / sizeof(T);
  return static_cast<size_t>(count < budget ? count : budget);
}

}  // namespace snow::wire_internal

namespace snow::wire {

// Serialisable on the typed path: the types listed at the top, user structs, and anything with a
// Codec specialisation. Never pointers or closures.
template <class T>
concept Wireable =
    wire_internal::HasCodec<T> && !std::is_pointer_v<T> && !std::is_member_pointer_v<T>;

// Encodes one value (no version byte) into `w`. Compile-time error for non-wireable types.
template <class T>
void EncodeValue(Writer& w, const T& value) {
  wire_internal::AssertWireable<T>();
  if constexpr (Wireable<T>) Codec<T>::Encode(w, value);
}

// Decodes one value into `out` (which is overwritten). Returns false with the error in `r`.
template <class T>
bool DecodeValue(Reader& r, T& out) {
  static_assert(!std::is_const_v<T>, "snow::wire: cannot decode into a const object or field");
  wire_internal::AssertWireable<T>();
  if constexpr (Wireable<T>) {
    if (ABSL_PREDICT_TRUE(Codec<T>::Decode(r, out))) return true;
    // A specialisation that returned false without saying why must not let the decode pass.
    if (r.ok()) {
      r.Fail(
          absl::StatusCode::kInvalidArgument,
          wire_internal::Cat("the codec for ", wire_internal::TypeName<T>(), " refused the value"));
    }
    return false;
  } else {
    return false;
  }
}

// Appends the version byte and `value` to `out`. On error (kInvalidArgument: invalid UTF-8 in a
// string, a name over 255 bytes, nesting beyond options.max_depth, or a codec's refusal) `out` is
// left as it was. Never blocks; the value is only read during the call.
template <class T>
absl::Status Encode(const T& value, ByteBuffer& out, const EncodeOptions& options = {}) {
  const size_t start = out.size();
  absl::Status status;
  {
    Writer w(out, options);
    w.WriteVersion();
    EncodeValue(w, value);
    status = w.Finish();
  }
  if (!status.ok()) out.Truncate(start);
  return status;
}

// Decodes exactly one term (version byte first, nothing after it) into `out`. Errors:
// kDataLoss (malformed bytes), kInvalidArgument (well-formed, but not a T: wrong kind, wrong
// type name, missing field, out-of-range number), kResourceExhausted (a DecodeLimits bound); the
// message carries the byte offset and the field path. Views in `out` (std::string_view,
// BinaryView, PidView) point into `bytes`. `context` reaches Codec specialisations.
template <class T>
absl::Status DecodeInto(ByteSpan bytes, T& out, const DecodeLimits& limits = {},
                        CodecContext* context = nullptr) {
  Reader r(bytes, limits, context);
  if (r.ReadVersion() && DecodeValue(r, out)) r.ExpectEnd();
  return r.status();
}
template <class T>
absl::Status DecodeInto(std::string_view bytes, T& out, const DecodeLimits& limits = {},
                        CodecContext* context = nullptr) {
  return DecodeInto(AsBytes(bytes), out, limits, context);
}

template <class T>
absl::StatusOr<T> Decode(ByteSpan bytes, const DecodeLimits& limits = {},
                         CodecContext* context = nullptr) {
  T value{};
  absl::Status s = DecodeInto(bytes, value, limits, context);
  if (!s.ok()) return s;
  return value;
}
template <class T>
absl::StatusOr<T> Decode(std::string_view bytes, const DecodeLimits& limits = {},
                         CodecContext* context = nullptr) {
  return Decode<T>(AsBytes(bytes), limits, context);
}

// ============================================================================================
// Built-in codecs.
// ============================================================================================

template <>
struct Codec<bool> {
  static constexpr KindMask kKinds = KindBit(Kind::kBool);
  static void Encode(Writer& w, bool v) { w.WriteBool(v); }
  static bool Decode(Reader& r, bool& out) { return r.ReadBool(&out); }
};

template <class T>
requires(std::is_integral_v<T> && !std::is_same_v<T, bool>) struct Codec<T> {
  static constexpr KindMask kKinds = KindBit(Kind::kInt) | KindBit(Kind::kUint);
  static void Encode(Writer& w, T v) {
    if constexpr (std::is_signed_v<T>) {
      w.WriteInt(v);
    } else {
      w.WriteUint(v);
    }
  }
  static bool Decode(Reader& r, T& out) {
    const size_t at = r.offset();
    if constexpr (std::is_signed_v<T>) {
      int64_t v;
      if (!r.ReadInt(&v)) return false;
      if constexpr (sizeof(T) < 8) {
        if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max()) {
          return OutOfRange(r, at, wire_internal::Cat(v));
        }
      }
      out = static_cast<T>(v);
    } else {
      uint64_t v;
      if (!r.ReadUint(&v)) return false;
      if constexpr (sizeof(T) < 8) {
        if (v > std::numeric_limits<T>::max()) return OutOfRange(r, at, wire_internal::Cat(v));
      }
      out = static_cast<T>(v);
    }
    return true;
  }
  static bool OutOfRange(Reader& r, size_t at, const std::string& v) {
    return r.FailAt(
        at, absl::StatusCode::kInvalidArgument,
        wire_internal::Cat("integer ", v, " out of range for a ", sizeof(T) * 8, "-bit ",
                           std::is_signed_v<T> ? "signed" : "unsigned", " field"));
  }
};

template <class T>
requires std::is_enum_v<T>
struct Codec<T> {
  using U = std::underlying_type_t<T>;
  static constexpr KindMask kKinds = Codec<U>::kKinds;
  static void Encode(Writer& w, T v) { Codec<U>::Encode(w, static_cast<U>(v)); }
  static bool Decode(Reader& r, T& out) {
    U u{};
    if (!Codec<U>::Decode(r, u)) return false;
    out = static_cast<T>(u);
    return true;
  }
};

template <class T>
requires(std::is_same_v<T, float> || std::is_same_v<T, double>) struct Codec<T> {
  static constexpr KindMask kKinds = KindBit(Kind::kFloat);
  static void Encode(Writer& w, T v) { w.WriteFloat(static_cast<double>(v)); }
  static bool Decode(Reader& r, T& out) {
    const size_t at = r.offset();
    double d;
    if (!r.ReadFloat(&d)) return false;
    if constexpr (std::is_same_v<T, float>) {
      // Narrowing a finite double beyond float's range is undefined behaviour, so refuse it.
      if (d == d &&
          (d > std::numeric_limits<float>::max() || d < -std::numeric_limits<float>::max()) &&
          d != std::numeric_limits<double>::infinity() &&
          d != -std::numeric_limits<double>::infinity()) {
        return r.FailAt(at, absl::StatusCode::kInvalidArgument,
                        wire_internal::Cat("float64 ", d, " out of range for a float field"));
      }
    }
    out = static_cast<T>(d);
    return true;
  }
};

template <>
struct Codec<std::string> {
  static constexpr KindMask kKinds = KindBit(Kind::kString);
  static void Encode(Writer& w, const std::string& v) { w.WriteString(v); }
  static bool Decode(Reader& r, std::string& out) {
    std::string_view v;
    if (!r.ReadString(&v)) return false;
    out.assign(v.data(), v.size());
    return true;
  }
};

// Decodes without copying: the view points into the input.
template <>
struct Codec<std::string_view> {
  static constexpr KindMask kKinds = KindBit(Kind::kString);
  static void Encode(Writer& w, std::string_view v) { w.WriteString(v); }
  static bool Decode(Reader& r, std::string_view& out) { return r.ReadString(&out); }
};

template <>
struct Codec<Binary> {
  static constexpr KindMask kKinds = KindBit(Kind::kBinary);
  // A Binary encoded is part of the value: EncodeOptions::borrowed may borrow its bytes (a codec
  // that encodes a temporary Binary must use Writer::WriteBinary instead).
  static void Encode(Writer& w, const Binary& v) { w.WriteOwnedBinary(v.bytes); }
  static bool Decode(Reader& r, Binary& out) { return r.ReadOwnedBinary(&out.bytes); }
};

template <>
struct Codec<BinaryView> {
  static constexpr KindMask kKinds = KindBit(Kind::kBinary);
  static void Encode(Writer& w, const BinaryView& v) { w.WriteBinary(v.bytes); }
  static bool Decode(Reader& r, BinaryView& out) { return r.ReadBinary(&out.bytes); }
};

// std::vector of unsigned char, char or std::byte is a binary, like in msgpack.
template <class T>
requires wire_internal::kByteLike<T>
struct Codec<std::vector<T>> {
  static constexpr KindMask kKinds = KindBit(Kind::kBinary);
  static void Encode(Writer& w, const std::vector<T>& v) {
    w.WriteBinary(std::string_view(reinterpret_cast<const char*>(v.data()), v.size()));
  }
  static bool Decode(Reader& r, std::vector<T>& out) {
    std::string_view v;
    if (!r.ReadBinary(&v)) return false;
    const T* p = reinterpret_cast<const T*>(v.data());
    out.assign(p, p + v.size());
    return true;
  }
};

template <>
struct Codec<Unit> {
  static constexpr KindMask kKinds = KindBit(Kind::kUnit);
  static void Encode(Writer& w, Unit) { w.WriteUnit(); }
  static bool Decode(Reader& r, Unit&) { return r.ReadUnit(); }
};

template <>
struct Codec<std::monostate> {
  static constexpr KindMask kKinds = KindBit(Kind::kUnit);
  static void Encode(Writer& w, std::monostate) { w.WriteUnit(); }
  static bool Decode(Reader& r, std::monostate&) { return r.ReadUnit(); }
};

template <>
struct Codec<Atom> {
  static constexpr KindMask kKinds = KindBit(Kind::kAtom);
  static void Encode(Writer& w, const Atom& v) { w.WriteAtom(v.name); }
  static bool Decode(Reader& r, Atom& out) {
    std::string_view v;
    if (!r.ReadAtom(&v)) return false;
    out.name.assign(v.data(), v.size());
    return true;
  }
};

template <>
struct Codec<NodeName> {
  static constexpr KindMask kKinds = KindBit(Kind::kNode);
  static void Encode(Writer& w, const NodeName& v) { w.WriteNode(v.name); }
  static bool Decode(Reader& r, NodeName& out) {
    std::string_view v;
    if (!r.ReadNode(&v)) return false;
    out.name.assign(v.data(), v.size());
    return true;
  }
};

template <>
struct Codec<Pid> {
  static constexpr KindMask kKinds = KindBit(Kind::kPid);
  static void Encode(Writer& w, const Pid& v) { w.WritePid(v); }
  static bool Decode(Reader& r, Pid& out) {
    PidView v;
    if (!r.ReadPid(&v)) return false;
    out.node.assign(v.node.data(), v.node.size());
    out.creation = v.creation;
    out.shard = v.shard;
    out.serial = v.serial;
    return true;
  }
};

template <>
struct Codec<PidView> {
  static constexpr KindMask kKinds = KindBit(Kind::kPid);
  static void Encode(Writer& w, const PidView& v) { w.WritePid(v); }
  static bool Decode(Reader& r, PidView& out) { return r.ReadPid(&out); }
};

template <>
struct Codec<Reference> {
  static constexpr KindMask kKinds = KindBit(Kind::kReference);
  static void Encode(Writer& w, const Reference& v) {
    w.WriteReference(v.node, v.creation, v.words);
  }
  static bool Decode(Reader& r, Reference& out) {
    ReferenceView v;
    if (!r.ReadReference(&v)) return false;
    out.node.assign(v.node.data(), v.node.size());
    out.creation = v.creation;
    out.words = v.words;
    return true;
  }
};

template <>
struct Codec<ReferenceView> {
  static constexpr KindMask kKinds = KindBit(Kind::kReference);
  static void Encode(Writer& w, const ReferenceView& v) {
    w.WriteReference(v.node, v.creation, v.words);
  }
  static bool Decode(Reader& r, ReferenceView& out) { return r.ReadReference(&out); }
};

}  // namespace snow::wire

namespace snow::wire_internal {

using ::snow::wire::DecodeValue;
using ::snow::wire::EncodeValue;
using ::snow::wire::KindName;
using ::snow::wire::NameCursor;
using ::snow::wire::StructHeader;

// Shared by std::vector and std::array: packed arrays for numbers (STF.md §6.1), a plain list
// otherwise. An empty sequence is always the empty list.
template <class T>
void EncodeSequence(Writer& w, const T* items, size_t n) {
  if constexpr (wire_internal::kPackable<T>) {
    if (n > 0) {
      if constexpr (std::is_floating_point_v<T>) {
        if (!w.WriteFloatArrayHeader(n)) return;
        w.WriteFloatArrayItems(items, n);
      } else {
        using U = typename wire_internal::IntegerOf<T>::type;
        if constexpr (std::is_signed_v<U>) {
          if (!w.WriteIntArrayHeader(n)) return;
        } else {
          if (!w.WriteUintArrayHeader(n)) return;
        }
        w.WriteIntArrayItems(items, n);
      }
      w.Leave();
      return;
    }
  }
  if (!w.WriteListHeader(n)) return;
  for (size_t i = 0; i < n; ++i) EncodeValue(w, items[i]);
  w.Leave();
}

// Decodes the items of a list whose header was read into out[0..count).
template <class T>
bool DecodeItems(Reader& r, Reader::ListForm form, T* out, uint64_t count) {
  using Form = Reader::ListForm;
  if constexpr (wire_internal::kPackable<T>) {
    if constexpr (std::is_floating_point_v<T>) {
      if (form == Form::kFloats) {
        for (uint64_t i = 0; i < count; ++i) {
          double d;
          if (!r.ReadPackedFloat(&d)) return false;
          out[i] = static_cast<T>(d);
        }
        return true;
      }
    } else {
      if (form == Form::kInts || form == Form::kUints) {
        using U = typename wire_internal::IntegerOf<T>::type;
        T* dst = out;
        bool negative = false;
        uint64_t rejected = 0;
        auto take = [&](uint64_t bits) {
          if (form == Form::kInts) {
            const int64_t v = wire_internal::UnZigZag(bits);
            if constexpr (std::is_signed_v<U>) {
              if (sizeof(U) < 8 &&
                  (v < std::numeric_limits<U>::min() || v > std::numeric_limits<U>::max())) {
                negative = v < 0;
                rejected = static_cast<uint64_t>(v);
                return false;
              }
            } else {
              if (v < 0 || static_cast<uint64_t>(v) > std::numeric_limits<U>::max()) {
                negative = v < 0;
                rejected = static_cast<uint64_t>(v);
                return false;
              }
            }
            *dst++ = static_cast<T>(static_cast<U>(v));
          } else {
            if (bits > static_cast<uint64_t>(std::numeric_limits<U>::max())) {
              rejected = bits;
              return false;
            }
            *dst++ = static_cast<T>(static_cast<U>(bits));
          }
          return true;
        };
        if (r.ReadPackedVarints(count, take)) return true;
        if (!r.ok()) return false;  // malformed varint
        // An item out of range for U: the reader stopped at it.
        return Codec<U>::OutOfRange(r, r.offset(),
                                    negative ? wire_internal::Cat(static_cast<int64_t>(rejected))
                                             : wire_internal::Cat(rejected));
      }
    }
  }
  if (form != Form::kValues) {
    return r.Fail(
        absl::StatusCode::kInvalidArgument,
        wire_internal::Cat("expected a list of ", wire_internal::TypeName<T>(), ", found a packed ",
                           form == Form::kFloats ? "float"
                           : form == Form::kInts ? "int"
                                                 : "uint",
                           " array"));
  }
  for (uint64_t i = 0; i < count; ++i) {
    if (!DecodeValue(r, out[i])) {
      r.AddContext(wire_internal::Cat("[", i, "]"));
      return false;
    }
  }
  return true;
}

}  // namespace snow::wire_internal

namespace snow::wire {

template <class T, class A>
requires(!wire_internal::kByteLike<T>) struct Codec<std::vector<T, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kList);
  static void Encode(Writer& w, const std::vector<T, A>& v) {
    if constexpr (std::is_same_v<T, bool>) {
      if (!w.WriteListHeader(v.size())) return;
      for (bool b : v) w.WriteBool(b);
      w.Leave();
    } else {
      wire_internal::EncodeSequence(w, v.data(), v.size());
    }
  }
  static bool Decode(Reader& r, std::vector<T, A>& out) {
    uint64_t count;
    Reader::ListForm form;
    if (!r.ReadListHeader(&count, &form)) return false;
    out.clear();
    if constexpr (std::is_same_v<T, bool>) {
      if (form != Reader::ListForm::kValues) {
        return r.Fail(absl::StatusCode::kInvalidArgument,
                      "expected a list of bool, found a packed array");
      }
      out.reserve(wire_internal::ReserveFor<bool>(r, count));
      for (uint64_t i = 0; i < count; ++i) {
        bool b;
        if (!r.ReadBool(&b)) {
          r.AddContext(wire_internal::Cat("[", i, "]"));
          return false;
        }
        out.push_back(b);
      }
    } else if (wire_internal::ReserveFor<T>(r, count) == count) {
      out.resize(count);
      if (!wire_internal::DecodeItems(r, form, out.data(), count)) return false;
    } else {
      // More items announced than we are willing to reserve for up front: grow as they arrive.
      out.reserve(wire_internal::ReserveFor<T>(r, count));
      for (uint64_t i = 0; i < count; ++i) {
        out.emplace_back();
        if (!wire_internal::DecodeItems(r, form, &out.back(), 1)) {
          r.AddContext(wire_internal::Cat("[", i, "]"));
          return false;
        }
      }
    }
    r.Leave();
    return true;
  }
};

template <class T, size_t N>
struct Codec<std::array<T, N>> {
  static constexpr KindMask kKinds = KindBit(Kind::kList);
  static void Encode(Writer& w, const std::array<T, N>& v) {
    wire_internal::EncodeSequence(w, v.data(), N);
  }
  static bool Decode(Reader& r, std::array<T, N>& out) {
    const size_t at = r.offset();
    uint64_t count;
    Reader::ListForm form;
    if (!r.ReadListHeader(&count, &form)) return false;
    if (count != N) {
      return r.FailAt(
          at, absl::StatusCode::kInvalidArgument,
          wire_internal::Cat("expected a list of exactly ", N, " items, found ", count));
    }
    if (!wire_internal::DecodeItems(r, form, out.data(), N)) return false;
    r.Leave();
    return true;
  }
};

}  // namespace snow::wire

namespace snow::wire_internal {

template <class C>
void EncodeSet(Writer& w, const C& c) {
  if (!w.WriteSetHeader(c.size())) return;
  for (const auto& x : c) EncodeValue(w, x);
  w.Leave();
}

template <class C>
bool DecodeSet(Reader& r, C& out) {
  uint64_t count;
  if (!r.ReadSetHeader(&count)) return false;
  out.clear();
  if constexpr (requires { out.reserve(size_t{}); }) {
    out.reserve(wire_internal::ReserveFor<typename C::value_type>(r, count));
  }
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    typename C::value_type v{};
    if (!DecodeValue(r, v)) {
      r.AddContext(wire_internal::Cat("[", i, "]"));
      return false;
    }
    const size_t before = out.size();
    if constexpr (requires { typename C::key_compare; }) {
      out.insert(out.end(), std::move(v));  // senders of ordered sets send them in order
    } else {
      out.insert(std::move(v));
    }
    if (out.size() == before) {
      return r.FailAt(at, absl::StatusCode::kDataLoss, "duplicate set element");
    }
  }
  r.Leave();
  return true;
}

template <class C>
void EncodeMap(Writer& w, const C& c) {
  if (!w.WriteMapHeader(c.size())) return;
  for (const auto& [k, v] : c) {
    EncodeValue(w, k);
    EncodeValue(w, v);
  }
  w.Leave();
}

template <class C>
bool DecodeMap(Reader& r, C& out) {
  uint64_t count;
  if (!r.ReadMapHeader(&count)) return false;
  out.clear();
  if constexpr (requires { out.reserve(size_t{}); }) {
    out.reserve(wire_internal::ReserveFor<typename C::value_type>(r, count));
  }
  for (uint64_t i = 0; i < count; ++i) {
    const size_t at = r.offset();
    typename C::key_type k{};
    if (!DecodeValue(r, k)) {
      r.AddContext(wire_internal::Cat("{key ", i, "}"));
      return false;
    }
    typename C::mapped_type v{};
    if (!DecodeValue(r, v)) {
      r.AddContext(wire_internal::Cat("{value ", i, "}"));
      return false;
    }
    const size_t before = out.size();
    if constexpr (requires { typename C::key_compare; }) {
      out.emplace_hint(out.end(), std::move(k), std::move(v));  // sorted input: O(1) inserts
    } else {
      out.emplace(std::move(k), std::move(v));
    }
    if (out.size() == before) {
      return r.FailAt(at, absl::StatusCode::kDataLoss, "duplicate map key");
    }
  }
  r.Leave();
  return true;
}

}  // namespace snow::wire_internal

namespace snow::wire {

template <class T, class C, class A>
struct Codec<std::set<T, C, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kSet);
  static void Encode(Writer& w, const std::set<T, C, A>& v) { wire_internal::EncodeSet(w, v); }
  static bool Decode(Reader& r, std::set<T, C, A>& out) { return wire_internal::DecodeSet(r, out); }
};
template <class T, class H, class E, class A>
struct Codec<std::unordered_set<T, H, E, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kSet);
  static void Encode(Writer& w, const std::unordered_set<T, H, E, A>& v) {
    wire_internal::EncodeSet(w, v);
  }
  static bool Decode(Reader& r, std::unordered_set<T, H, E, A>& out) {
    return wire_internal::DecodeSet(r, out);
  }
};
template <class T, class H, class E, class A>
struct Codec<absl::flat_hash_set<T, H, E, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kSet);
  static void Encode(Writer& w, const absl::flat_hash_set<T, H, E, A>& v) {
    wire_internal::EncodeSet(w, v);
  }
  static bool Decode(Reader& r, absl::flat_hash_set<T, H, E, A>& out) {
    return wire_internal::DecodeSet(r, out);
  }
};
template <class K, class V, class C, class A>
struct Codec<std::map<K, V, C, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kMap);
  static void Encode(Writer& w, const std::map<K, V, C, A>& v) { wire_internal::EncodeMap(w, v); }
  static bool Decode(Reader& r, std::map<K, V, C, A>& out) {
    return wire_internal::DecodeMap(r, out);
  }
};
template <class K, class V, class H, class E, class A>
struct Codec<std::unordered_map<K, V, H, E, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kMap);
  static void Encode(Writer& w, const std::unordered_map<K, V, H, E, A>& v) {
    wire_internal::EncodeMap(w, v);
  }
  static bool Decode(Reader& r, std::unordered_map<K, V, H, E, A>& out) {
    return wire_internal::DecodeMap(r, out);
  }
};
template <class K, class V, class H, class E, class A>
struct Codec<absl::flat_hash_map<K, V, H, E, A>> {
  static constexpr KindMask kKinds = KindBit(Kind::kMap);
  static void Encode(Writer& w, const absl::flat_hash_map<K, V, H, E, A>& v) {
    wire_internal::EncodeMap(w, v);
  }
  static bool Decode(Reader& r, absl::flat_hash_map<K, V, H, E, A>& out) {
    return wire_internal::DecodeMap(r, out);
  }
};

}  // namespace snow::wire

namespace snow::wire_internal {

template <class Tuple>
void EncodeTuple(Writer& w, const Tuple& t) {
  constexpr size_t n = std::tuple_size_v<Tuple>;
  if (!w.WriteTupleHeader(n)) return;
  std::apply([&w](const auto&... x) { (EncodeValue(w, x), ...); }, t);
  w.Leave();
}

template <size_t I, class Tuple>
bool DecodeElement(Reader& r, Tuple& t) {
  if (DecodeValue(r, std::get<I>(t))) return true;
  r.AddContext(wire_internal::Cat("{", I, "}"));
  return false;
}

template <class Tuple, size_t... I>
bool DecodeTuple(Reader& r, Tuple& t, std::index_sequence<I...>) {
  const size_t at = r.offset();
  uint64_t count;
  if (!r.ReadTupleHeader(&count)) return false;
  if (count != sizeof...(I)) {
    return r.FailAt(
        at, absl::StatusCode::kInvalidArgument,
        wire_internal::Cat("expected a tuple of ", sizeof...(I), ", found ", count, " elements"));
  }
  if (!(DecodeElement<I>(r, t) && ...)) return false;
  r.Leave();
  return true;
}

}  // namespace snow::wire_internal

namespace snow::wire {

template <class A, class B>
struct Codec<std::pair<A, B>> {
  static constexpr KindMask kKinds = KindBit(Kind::kTuple);
  static void Encode(Writer& w, const std::pair<A, B>& v) {
    wire_internal::EncodeTuple(w, std::tie(v.first, v.second));
  }
  static bool Decode(Reader& r, std::pair<A, B>& out) {
    auto refs = std::tie(out.first, out.second);
    return wire_internal::DecodeTuple(r, refs, std::make_index_sequence<2>{});
  }
};

template <class... T>
struct Codec<std::tuple<T...>> {
  static constexpr KindMask kKinds = KindBit(Kind::kTuple);
  static void Encode(Writer& w, const std::tuple<T...>& v) { wire_internal::EncodeTuple(w, v); }
  static bool Decode(Reader& r, std::tuple<T...>& out) {
    return wire_internal::DecodeTuple(r, out, std::index_sequence_for<T...>{});
  }
};

template <class T>
struct Codec<std::optional<T>> {
  static constexpr KindMask kKinds = KindBit(Kind::kOptional);
  static void Encode(Writer& w, const std::optional<T>& v) {
    if (!v.has_value()) {
      w.WriteNone();
    } else if (w.WriteSomeHeader()) {
      EncodeValue(w, *v);
      w.Leave();
    }
  }
  static bool Decode(Reader& r, std::optional<T>& out) {
    bool has;
    if (!r.ReadOptionalHeader(&has)) return false;
    if (!has) {
      out.reset();
      return true;
    }
    if (!DecodeValue(r, out.emplace())) return false;
    r.Leave();
    return true;
  }
};

// An owning pointer is an optional on the wire: what makes recursive structs possible.
template <class T>
struct Codec<std::unique_ptr<T>> {
  static constexpr KindMask kKinds = KindBit(Kind::kOptional);
  static void Encode(Writer& w, const std::unique_ptr<T>& v) {
    if (v == nullptr) {
      w.WriteNone();
    } else if (w.WriteSomeHeader()) {
      EncodeValue(w, *v);
      w.Leave();
    }
  }
  static bool Decode(Reader& r, std::unique_ptr<T>& out) {
    bool has;
    if (!r.ReadOptionalHeader(&has)) return false;
    if (!has) {
      out.reset();
      return true;
    }
    out = std::make_unique<T>();
    if (!DecodeValue(r, *out)) return false;
    r.Leave();
    return true;
  }
};

template <>
struct Codec<absl::Status> {
  static constexpr KindMask kKinds = KindBit(Kind::kResult);
  static void Encode(Writer& w, const absl::Status& s) {
    if (s.ok()) {
      if (!w.WriteOkHeader()) return;
      w.WriteUnit();
      w.Leave();
    } else {
      w.WriteError(static_cast<uint32_t>(s.code()), wire_internal::ToStd(s.message()));
    }
  }
  static bool Decode(Reader& r, absl::Status& out) {
    bool is_ok;
    uint32_t code;
    std::string_view message;
    if (!r.ReadResultHeader(&is_ok, &code, &message)) return false;
    if (is_ok) {
      if (!r.ReadUnit()) return false;
      r.Leave();
      out = absl::OkStatus();
    } else {
      out = ToStatus(code, message);
    }
    return true;
  }
  // Codes outside absl's canonical 1..16 become kUnknown, keeping the message.
  static absl::Status ToStatus(uint32_t code, std::string_view message) {
    const auto c = code <= 16 ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kUnknown;
    return absl::Status(c, wire_internal::ToAbsl(message));
  }
};

template <class T>
struct Codec<absl::StatusOr<T>> {
  static constexpr KindMask kKinds = KindBit(Kind::kResult);
  static void Encode(Writer& w, const absl::StatusOr<T>& v) {
    if (v.ok()) {
      if (!w.WriteOkHeader()) return;
      EncodeValue(w, *v);
      w.Leave();
    } else {
      w.WriteError(static_cast<uint32_t>(v.status().code()),
                   wire_internal::ToStd(v.status().message()));
    }
  }
  static bool Decode(Reader& r, absl::StatusOr<T>& out) {
    bool is_ok;
    uint32_t code;
    std::string_view message;
    if (!r.ReadResultHeader(&is_ok, &code, &message)) return false;
    if (!is_ok) {
      out = Codec<absl::Status>::ToStatus(code, message);
      return true;
    }
    T value{};
    if (!DecodeValue(r, value)) return false;
    r.Leave();
    out = std::move(value);
    return true;
  }
};

}  // namespace snow::wire

namespace snow::wire_internal {

template <class Tuple, size_t... I>
std::array<std::string_view, sizeof...(I)> Names(const Tuple& fields, std::index_sequence<I...>) {
  return {std::get<I>(fields).name...};
}

template <class Tuple>
void EncodeFieldValues(Writer& w, const Tuple& fields) {
  std::apply([&w](const auto&... f) { (EncodeValue(w, std::as_const(f.value)), ...); }, fields);
}

template <size_t I, class Tuple>
bool DecodeField(Reader& r, Tuple& fields) {
  auto& f = std::get<I>(fields);
  if (DecodeValue(r, f.value)) return true;
  r.AddContext(wire_internal::Cat(".", f.name));
  return false;
}

template <class Tuple, size_t... I>
bool NamesMatchInOrder(const StructHeader& h, const Tuple& fields, std::index_sequence<I...>) {
  NameCursor names(h.names);
  return ((names.Next() == std::get<I>(fields).name) && ...);
}

template <class Tuple, size_t... I>
bool DecodeInOrder(Reader& r, Tuple& fields, std::index_sequence<I...>) {
  return (DecodeField<I>(r, fields) && ...);
}

template <class Tuple, size_t... I>
bool DecodeFieldAt(Reader& r, Tuple& fields, size_t index, std::index_sequence<I...>) {
  bool ok = false;
  (void)((index == I ? (ok = DecodeField<I>(r, fields), true) : false) || ...);
  return ok;
}

template <class Tuple, size_t... I>
size_t FindField([[maybe_unused]] const Tuple& fields, [[maybe_unused]] std::string_view name,
                 std::index_sequence<I...>) {
  size_t found = sizeof...(I);
  (void)((std::get<I>(fields).name == name ? (found = I, true) : false) || ...);
  return found;
}

template <class Tuple, size_t... I>
bool CheckMissing(Reader& r, Tuple& fields, const std::bitset<sizeof...(I) + 1>& seen,
                  std::string_view type_name, std::index_sequence<I...>) {
  [[maybe_unused]] auto check = [&](auto& f, size_t i) {
    if (seen[i]) return true;
    using V = std::remove_cvref_t<decltype(f.value)>;
    if constexpr (wire_internal::IsOptionalLike<V>::value) {
      f.value.reset();
      return true;
    } else {
      return r.Fail(absl::StatusCode::kInvalidArgument,
                    wire_internal::Cat("missing field '", f.name, "' of '", type_name, "'"));
    }
  };
  return (check(std::get<I>(fields), I) && ...);
}

// Decodes the values of a struct whose header was read, into `fields`, matching by name.
template <class Tuple>
bool DecodeFields(Reader& r, const StructHeader& h, Tuple& fields, const void* key,
                  std::string_view type_name) {
  constexpr size_t n = std::tuple_size_v<Tuple>;
  constexpr auto seq = std::make_index_sequence<n>{};
  // Same program or same declaration order: one comparison pass, then straight-line decoding.
  // Within a term, a shape checked once is remembered.
  if (h.count == n && (r.ShapeMatches(h.shape, key) || NamesMatchInOrder(h, fields, seq))) {
    r.MarkShapeMatches(h.shape, key);
    if (!DecodeInOrder(r, fields, seq)) return false;
    r.Leave();
    return true;
  }
  std::bitset<n + 1> seen;
  NameCursor names(h.names);
  for (uint32_t i = 0; i < h.count; ++i) {
    const std::string_view name = names.Next();
    const size_t index = FindField(fields, name, seq);
    if (index == n) {
      // A field this program does not know (a newer sender): validate and skip it.
      if (!r.Skip()) {
        r.AddContext(wire_internal::Cat(".", name));
        return false;
      }
      continue;
    }
    seen.set(index);  // the reader rejected duplicate names in the header
    if (!DecodeFieldAt(r, fields, index, seq)) return false;
  }
  if (!CheckMissing(r, fields, seen, type_name, seq)) return false;
  r.Leave();
  return true;
}

// Converts to any member type: T{AnyMember x n} compiles when T has at least n members.
struct AnyMember {
  template <class U>
  operator U() const;
};
template <class T, size_t... I>
constexpr bool AcceptsInitializers(std::index_sequence<I...>) {
  return requires { T{(static_cast<void>(I), AnyMember{})...}; };
}

template <class T, class Members, size_t... I>
auto NameMembers([[maybe_unused]] Members members, std::index_sequence<I...>) {
  const ::snow::wire::Struct& form = T::kWire;
  return std::tuple{::snow::wire::Field<std::remove_reference_t<std::tuple_element_t<I, Members>>>{
      form.fields[I], std::get<I>(members)}...};
}

// The named fields of `v`: from its WireFields hook, or its members named by kWire. Only forms
// references: encoding reads through them, decoding writes.
template <class T>
auto FieldsOf(const T& v) {
  T& value = const_cast<T&>(v);
  if constexpr (HasWireStruct<T>) {
    static_assert(std::is_aggregate_v<T>,
                  "snow::wire: the short form (kWire) is for aggregates (public members, no "
                  "constructors); give other structs kWireName + WireFields");
    constexpr size_t n = static_cast<const ::snow::wire::Struct&>(T::kWire).field_count;
    static_assert(!AcceptsInitializers<T>(std::make_index_sequence<n + 1>{}),
                  "snow::wire: kWire names fewer fields than the struct has members: name every "
                  "member, in declaration order");
    return NameMembers<T>(MembersOf<n>(value), std::make_index_sequence<n>{});
  } else {
    return WireFields(value);
  }
}

// Reads a struct or variant header that must be a `kind` named T. `shape_key`: the key a shape
// already checked against T carries (Reader::ShapeMatches), whose name needs no comparing again.
template <class T>
bool ReadTypedHeader(Reader& r, StructHeader& h, Kind kind, const void* shape_key = nullptr) {
  const size_t at = r.offset();
  if (!r.ReadStructHeader(&h)) return false;
  if (shape_key != nullptr && r.ShapeMatches(h.shape, shape_key)) return true;
  if (h.kind != kind || h.type_name != wire_internal::kNameOf<T>) {
    return r.FailAt(at, absl::StatusCode::kInvalidArgument,
                    wire_internal::Cat("expected ", KindName(kind), " '", wire_internal::kNameOf<T>,
                                       "', found ", KindName(h.kind), " '", h.type_name, "'"));
  }
  return true;
}

}  // namespace snow::wire_internal

namespace snow::wire {

// User structs: kWire (struct.h), or kWireName + WireFields.
template <class T>
requires wire_internal::HasWireFields<T>
struct Codec<T> {
  static_assert(wire_internal::kNameOf<T>.size() <= kMaxNameBytes,
                "snow::wire: the wire name is longer than 255 bytes");
  static constexpr KindMask kKinds = KindBit(Kind::kStruct);
  static void Encode(Writer& w, const T& v) {
    auto fields = wire_internal::FieldsOf(v);
    constexpr size_t n = std::tuple_size_v<decltype(fields)>;
    const auto names = wire_internal::Names(fields, std::make_index_sequence<n>{});
    // Field names are constants of the type: check them once, not per message.
    static const bool names_valid = Writer::NamesAreValid(wire_internal::kNameOf<T>, names);
    if (!w.WriteStructHeader(
            &wire_internal::kShapeKey<T>, wire_internal::kNameOf<T>, names,
            names_valid ? Writer::NameCheck::kChecked : Writer::NameCheck::kNeeded)) {
      return;
    }
    wire_internal::EncodeFieldValues(w, fields);
    w.Leave();
  }
  static bool Decode(Reader& r, T& out) {
    StructHeader h;
    if (!wire_internal::ReadTypedHeader<T>(r, h, Kind::kStruct, &wire_internal::kShapeKey<T>)) {
      return false;
    }
    auto fields = wire_internal::FieldsOf(out);
    return wire_internal::DecodeFields(r, h, fields, &wire_internal::kShapeKey<T>,
                                       wire_internal::kNameOf<T>);
  }
};

// Named sum types: a struct deriving from std::variant<Alts...> of wire structs, plus kWireName.
template <class T>
requires wire_internal::NamedVariant<T>
struct Codec<T> {
  using Base = decltype(wire_internal::VariantBaseOf(static_cast<T*>(nullptr)));
  static constexpr KindMask kKinds = KindBit(Kind::kVariant);

  static void Encode(Writer& w, const T& v) {
    std::visit(
        [&w](const auto& alt) {
          using Alt = std::remove_cvref_t<decltype(alt)>;
          static_assert(wire_internal::HasWireFields<Alt>,
                        "snow::wire: the alternatives of a named variant must be wire structs "
                        "(kWire, or kWireName + WireFields)");
          auto fields = wire_internal::FieldsOf(alt);
          constexpr size_t n = std::tuple_size_v<decltype(fields)>;
          const auto names = wire_internal::Names(fields, std::make_index_sequence<n>{});
          static const bool names_valid = Writer::NamesAreValid(wire_internal::kNameOf<T>, names) &&
                                          Writer::NamesAreValid(wire_internal::kNameOf<Alt>, {});
          if (!w.WriteVariantHeader(
                  &wire_internal::kVariantShapeKey<T, Alt>, wire_internal::kNameOf<T>,
                  wire_internal::kNameOf<Alt>, names,
                  names_valid ? Writer::NameCheck::kChecked : Writer::NameCheck::kNeeded)) {
            return;
          }
          wire_internal::EncodeFieldValues(w, fields);
          w.Leave();
        },
        static_cast<const Base&>(v));
  }

  static bool Decode(Reader& r, T& out) {
    const size_t at = r.offset();
    StructHeader h;
    if (!wire_internal::ReadTypedHeader<T>(r, h, Kind::kVariant)) return false;
    bool found = false, ok = false;
    DecodeAlternative(r, h, out, found, ok, std::make_index_sequence<std::variant_size_v<Base>>{});
    if (!found) {
      return r.FailAt(at, absl::StatusCode::kInvalidArgument,
                      wire_internal::Cat("unknown alternative '", h.alternative, "' of '",
                                         wire_internal::kNameOf<T>, "'"));
    }
    return ok;
  }

  template <size_t... I>
  static void DecodeAlternative(Reader& r, const StructHeader& h, T& out, bool& found, bool& ok,
                                std::index_sequence<I...>) {
    auto try_one = [&](auto index) {
      using Alt = std::variant_alternative_t<decltype(index)::value, Base>;
      if (h.alternative != wire_internal::kNameOf<Alt>) return false;
      found = true;
      Base& base = out;
      auto& alt = base.template emplace<decltype(index)::value>();
      auto fields = wire_internal::FieldsOf(alt);
      ok = wire_internal::DecodeFields(r, h, fields, &wire_internal::kVariantShapeKey<T, Alt>,
                                       wire_internal::kNameOf<Alt>);
      if (!ok) r.AddContext(wire_internal::Cat("<", wire_internal::kNameOf<Alt>, ">"));
      return true;
    };
    (void)(try_one(std::integral_constant<size_t, I>{}) || ...);
  }
};

// std::variant: untagged; the active alternative is written as itself.
template <class... A>
struct Codec<std::variant<A...>> {
  static constexpr KindMask kKinds = (wire_internal::KindsOf<A>() | ...);
  static void Encode(Writer& w, const std::variant<A...>& v) {
    std::visit([&w](const auto& alt) { EncodeValue(w, alt); }, v);
  }
  static bool Decode(Reader& r, std::variant<A...>& out) {
    Kind kind;
    if (!r.PeekKind(&kind)) return false;
    std::string_view type_name, alternative;
    if ((kind == Kind::kStruct || kind == Kind::kVariant) &&
        !r.PeekStructName(&type_name, &alternative)) {
      return false;
    }
    bool chosen = false, ok = false;
    auto try_one = [&](auto index) {
      using Alt = std::variant_alternative_t<decltype(index)::value, std::variant<A...>>;
      if (!(wire_internal::KindsOf<Alt>() & KindBit(kind))) return false;
      if constexpr (wire_internal::HasWireName<Alt>) {
        if (type_name != wire_internal::kNameOf<Alt>) return false;
      }
      chosen = true;
      ok = DecodeValue(r, out.template emplace<decltype(index)::value>());
      return true;
    };
    [&]<size_t... I>(std::index_sequence<I...>) {
      (void)(try_one(std::integral_constant<size_t, I>{}) || ...);
    }
    (std::index_sequence_for<A...>{});
    if (!chosen) {
      return r.Fail(
          absl::StatusCode::kInvalidArgument,
          wire_internal::Cat("no alternative of the variant accepts a ", KindName(kind),
                             type_name.empty() ? "" : wire_internal::Cat(" '", type_name, "'")));
    }
    return ok;
  }
};

}  // namespace snow::wire
