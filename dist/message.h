// File: dist/message.h
//
// Which C++ types may cross to another node, and under what name. A struct declares itself with
// one line beside its members, which also registers it in every program that contains it:
//
//   struct Ping {
//     snow::Pid from;                                 // PIDs cross as name + creation + serial
//     int64_t n = 0;
//     static constexpr snow::dist::Message<Ping> kWire{"demo.Ping", "from", "n"};
//   };
//
// Other types are registered once per program (on every node that sends or receives them),
// before they are first sent or received:
//
//   snow::dist::RegisterMessage<int64_t>();           // built-in types have fixed names ("i64")
//   snow::dist::RegisterMessage<Legacy>();            // kWireName + WireFields (wire/codec.h)
//
// Two programs agree on a type by its wire name and its fields' names (wire/STF.md), never by
// C++ layout. Sending an unregistered type to a remote PID drops the message with a log line and
// a count (DistStats::dropped_not_registered); dist::SendNamed refuses it at compile time or
// with a status. A received message of a type this program did not register is dropped and
// counted the same way.
//
// A request type (one with `using Reply = R`, core/service.h) registers its call with it: the
// Request<T> a server receives (wire name "snow.call:" + T's) and the reply it sends back
// ("snow.reply:" + R's type text, WireTypeText below), so that Call works across nodes once T is
// registered on both. R must be a built-in type, a type with a wire name, or a standard
// container, optional, tuple, variant, Status or StatusOr of those.
//
// This header also gives snow::Pid its wire form (wire's Pid: node name, creation, shard,
// serial): a message may carry PIDs of any node, and they stay valid on the other side.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
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

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "snow/core/pid.h"
#include "snow/core/remote.h"
#include "snow/core/service.h"
#include "snow/core/status.h"
#include "snow/wire/codec.h"
#include "snow/wire/erased.h"

namespace snow::dist {

// How one registered type is written and read by dist/.
struct RemoteType {
  std::string wire_name;
  wire::ErasedCodec codec;
  // The value inside a message of this type.
  const void* (*value_of)(const RemoteEnvelope& e) = nullptr;
  // Decodes `bytes` (version byte + term) straight into a new message addressed to `to`, or
  // returns an empty envelope with the reason in *error. With `supplied`, the binary whose
  // bytes would start at `supplied_at` of `bytes` is that string (wire::Reader::SupplyBinary).
  // With `shape`, the term was written with that shape agreed (wire::Reader::UseDefinedShape).
  RemoteEnvelope (*decode)(wire::ByteSpan bytes, Pid to, wire::CodecContext* context,
                           const wire::DecodeLimits& limits, size_t supplied_at,
                           std::string* supplied, wire::DefinedShape* shape,
                           absl::Status* error) = nullptr;
};

}  // namespace snow::dist

namespace snow::dist_internal {

using dist::RemoteType;

// Records `type` in the codec slot of its C++ type and under its wire name. A second
// registration of the same C++ type is ignored; the same wire name for two types is a
// programming error (checked).
void Register(std::atomic<const void*>& codec_slot, RemoteType type);
// The type registered under `wire_name`, or nullptr.
const RemoteType* FindRemoteType(std::string_view wire_name);

using wire_internal::HasWireName;

// Names for the standard types, the same from every compiler.
template <class T>
constexpr std::string_view BuiltinWireName() {
  if constexpr (std::is_same_v<T, bool>)
    return "bool";
  else if constexpr (std::is_same_v<T, int8_t>)
    return "i8";
  else if constexpr (std::is_same_v<T, int16_t>)
    return "i16";
  else if constexpr (std::is_same_v<T, int32_t>)
    return "i32";
  else if constexpr (std::is_same_v<T, int64_t>)
    return "i64";
  else if constexpr (std::is_same_v<T, uint8_t>)
    return "u8";
  else if constexpr (std::is_same_v<T, uint16_t>)
    return "u16";
  else if constexpr (std::is_same_v<T, uint32_t>)
    return "u32";
  else if constexpr (std::is_same_v<T, uint64_t>)
    return "u64";
  else if constexpr (std::is_same_v<T, double>)
    return "f64";
  else if constexpr (std::is_same_v<T, std::string>)
    return "string";
  else if constexpr (std::is_same_v<T, wire::Binary>)
    return "binary";
  else
    return {};
}

// The name of type T as a call's reply travels under, the same in every program: a built-in
// name, a wire name, or one built from them ("list<i64>", "optional<kv.Entry>", "map<string,i64>").
template <class T>
struct WireTypeText {
  static_assert(HasWireName<T> || !BuiltinWireName<T>().empty(),
                "a reply type that crosses nodes needs a wire name: declare it with a kWire (or "
                "kWireName and WireFields), or use a built-in type or a standard container of "
                "those");
  static std::string Get() {
    if constexpr (HasWireName<T>) {
      return std::string(wire_internal::kNameOf<T>);
    } else {
      return std::string(BuiltinWireName<T>());
    }
  }
};
template <class... T>
std::string JoinWireTypeText() {
  std::string text;
  ((text += (text.empty() ? "" : ","), text += WireTypeText<T>::Get()), ...);
  return text;
}
template <class T, class A>
struct WireTypeText<std::vector<T, A>> {
  static std::string Get() { return absl::StrCat("list<", WireTypeText<T>::Get(), ">"); }
};
template <class T, size_t N>
struct WireTypeText<std::array<T, N>> {
  static std::string Get() { return absl::StrCat("array<", WireTypeText<T>::Get(), ",", N, ">"); }
};
template <class T>
struct WireTypeText<std::optional<T>> {
  static std::string Get() { return absl::StrCat("optional<", WireTypeText<T>::Get(), ">"); }
};
template <class T>
struct WireTypeText<std::unique_ptr<T>> : WireTypeText<std::optional<T>> {};
template <class K, class V>
struct MapWireTypeText {
  static std::string Get() { return absl::StrCat("map<", JoinWireTypeText<K, V>(), ">"); }
};
template <class K, class V, class... R>
struct WireTypeText<std::map<K, V, R...>> : MapWireTypeText<K, V> {};
template <class K, class V, class... R>
struct WireTypeText<std::unordered_map<K, V, R...>> : MapWireTypeText<K, V> {};
template <class K, class V, class... R>
struct WireTypeText<absl::flat_hash_map<K, V, R...>> : MapWireTypeText<K, V> {};
template <class T>
struct SetWireTypeText {
  static std::string Get() { return absl::StrCat("set<", WireTypeText<T>::Get(), ">"); }
};
template <class T, class... R>
struct WireTypeText<std::set<T, R...>> : SetWireTypeText<T> {};
template <class T, class... R>
struct WireTypeText<std::unordered_set<T, R...>> : SetWireTypeText<T> {};
template <class T, class... R>
struct WireTypeText<absl::flat_hash_set<T, R...>> : SetWireTypeText<T> {};
template <class... T>
struct WireTypeText<std::tuple<T...>> {
  static std::string Get() { return absl::StrCat("tuple<", JoinWireTypeText<T...>(), ">"); }
};
template <class A, class B>
struct WireTypeText<std::pair<A, B>> : WireTypeText<std::tuple<A, B>> {};
template <class... T>
struct WireTypeText<std::variant<T...>> {
  static std::string Get() { return absl::StrCat("variant<", JoinWireTypeText<T...>(), ">"); }
};
template <>
struct WireTypeText<std::monostate> {
  static std::string Get() { return "unit"; }
};
template <>
struct WireTypeText<wire::Unit> {
  static std::string Get() { return "unit"; }
};
template <>
struct WireTypeText<Pid> {
  static std::string Get() { return "pid"; }
};
template <>
struct WireTypeText<absl::Status> {
  static std::string Get() { return "status"; }
};
template <class T>
struct WireTypeText<absl::StatusOr<T>> {
  static std::string Get() { return absl::StrCat("status<", WireTypeText<T>::Get(), ">"); }
};

template <class T>
const void* ValueOf(const RemoteEnvelope& e) {
  return &e.value<T>();
}

template <class T>
RemoteEnvelope DecodeMessage(wire::ByteSpan bytes, Pid to, wire::CodecContext* context,
                             const wire::DecodeLimits& limits, size_t supplied_at,
                             std::string* supplied, wire::DefinedShape* shape,
                             absl::Status* error) {
  RemoteEnvelope e = RemoteEnvelope::Emplace<T>(to);
  wire::Reader r(bytes, limits, context);
  if (supplied != nullptr) r.SupplyBinary(supplied_at, supplied);
  if (shape != nullptr) r.UseDefinedShape(shape);
  if (r.ReadVersion() && wire::DecodeValue(r, e.mutable_value<T>())) r.ExpectEnd();
  if (!r.ok()) {
    *error = r.status();
    return RemoteEnvelope();
  }
  return e;
}

// What Codec<snow::Pid> asks of the connection it is encoding for (dist/ implements it).
class PidContext : public wire::CodecContext {
 public:
  virtual void WritePid(wire::Writer& w, Pid pid) = 0;
  virtual bool ReadPid(wire::Reader& r, Pid& pid) = 0;
};

}  // namespace snow::dist_internal

namespace snow::dist {

// Registers T for remote sends under `wire_name`: T's wire name by default, or the built-in name
// of a standard type ("i64", "string", ...). Other types must be given a name. A type declared
// with Message<T> (below) needs no call: it is registered before main.
template <class T>
void RegisterMessage(std::string_view wire_name = {}) {
  static_assert(wire::Wireable<T>, "only types wire/ can encode may cross to another node");
  static_assert(std::is_default_constructible_v<T>,
                "a message type received from another node must be default-constructible");
  if (wire_name.empty()) {
    if constexpr (dist_internal::HasWireName<T>) {
      wire_name = wire_internal::kNameOf<T>;
    } else {
      wire_name = dist_internal::BuiltinWireName<T>();
    }
  }
  SNOW_CHECK(!wire_name.empty(), "RegisterMessage: this type needs a wire name");
  dist_internal::Register(RemoteCodecSlot<T>(),
                          RemoteType{std::string(wire_name), wire::ErasedCodecFor<T>(),
                                     &dist_internal::ValueOf<T>, &dist_internal::DecodeMessage<T>});
  if constexpr (requires { typename T::Reply; }) {
    using R = typename T::Reply;
    static_assert(wire::Wireable<R>,
                  "the reply type of a request that crosses nodes must be "
                  "encodable by wire/");
    static_assert(std::is_default_constructible_v<R>,
                  "the reply type of a request that crosses nodes must be default-constructible");
    RegisterMessage<Request<T>>(std::string("snow.call:").append(wire_name));
    RegisterMessage<CallReply<R>>("snow.reply:" + dist_internal::WireTypeText<R>::Get());
  }
}

// The short declaration of a message that crosses nodes: wire::Struct (its wire name and its
// fields' names, in declaration order), plus its registration, done before main in every
// program that contains the declaration — so a type cannot be declared on one side and forgotten
// on the other:
//
//   struct Put {
//     std::string key, value;
//     static constexpr snow::dist::Message<Put> kWire{"kv.Put", "key", "value"};
//   };
template <class T>
struct Message : wire::Struct {
  template <class... Names>
  constexpr Message(std::string_view wire_name, Names... field_names)
      : wire::Struct(wire_name, field_names...) {
    // Naming kRegistered here makes every program that declares T define it, and so run its
    // initializer at start-up; the declaration itself is evaluated at compile time.
    if (!std::is_constant_evaluated()) (void)kRegistered;
  }

 private:
  static bool RegisterOnce() {
    static_assert(std::is_same_v<std::remove_cv_t<decltype(T::kWire)>, Message<T>>,
                  "dist::Message<T> declares T's own kWire: the T must be the enclosing struct");
    RegisterMessage<T>();
    return true;
  }
  static inline const bool kRegistered = RegisterOnce();
};

// The registration of T, or nullptr.
template <class T>
const RemoteType* RemoteTypeOf() {
  return static_cast<const RemoteType*>(RemoteCodecSlot<T>().load(std::memory_order_acquire));
}

}  // namespace snow::dist

// snow::Pid on the wire: only inside dist/, which supplies the node table as the context.
template <>
struct snow::wire::Codec<snow::Pid> {
  static constexpr KindMask kKinds = KindBit(Kind::kPid);
  static void Encode(Writer& w, const snow::Pid& pid) {
    auto* nodes = static_cast<snow::dist_internal::PidContext*>(w.context());
    if (nodes == nullptr) {
      w.Fail(absl::InvalidArgumentError("a snow::Pid crosses the wire only in a dist/ message"));
      return;
    }
    nodes->WritePid(w, pid);
  }
  static bool Decode(Reader& r, snow::Pid& pid) {
    auto* nodes = static_cast<snow::dist_internal::PidContext*>(r.context());
    if (nodes == nullptr) {
      return r.Fail(absl::StatusCode::kInvalidArgument, "a snow::Pid can only be decoded by dist/");
    }
    return nodes->ReadPid(r, pid);
  }
};

namespace snow::dist_internal {

// The wire forms of a call's parts: structs whose fields refer to the parts' members.
struct ReplyToForm {
  static constexpr std::string_view kWireName = "snow.ReplyTo";
  Pid& pid;
  uint64_t& ref;
  friend auto WireFields(ReplyToForm& f) { return wire::Fields("pid", f.pid, "ref", f.ref); }
};

template <class Req>
struct RequestForm {
  static constexpr std::string_view kWireName = "snow.Request";
  Req& body;
  ReplyTo<typename Req::Reply>& from;
  friend auto WireFields(RequestForm& f) { return wire::Fields("body", f.body, "from", f.from); }
};

template <class R>
struct ReplyForm {
  static constexpr std::string_view kWireName = "snow.Reply";
  uint64_t& ref;
  R& value;
  friend auto WireFields(ReplyForm& f) { return wire::Fields("ref", f.ref, "value", f.value); }
};

}  // namespace snow::dist_internal

// A call's parts on the wire: where to reply (a PID and the caller's ref), the request as the
// server receives it, and the reply.
template <class R>
struct snow::wire::Codec<snow::ReplyTo<R>> {
  static constexpr KindMask kKinds = KindBit(Kind::kStruct);
  static void Encode(Writer& w, const snow::ReplyTo<R>& v) {
    snow::Pid pid = v.pid;
    uint64_t ref = v.ref.bits();
    snow::dist_internal::ReplyToForm form{pid, ref};
    EncodeValue(w, form);
  }
  static bool Decode(Reader& r, snow::ReplyTo<R>& out) {
    uint64_t ref = 0;
    snow::dist_internal::ReplyToForm form{out.pid, ref};
    if (!DecodeValue(r, form)) return false;
    out.ref = snow::Ref::FromBits(ref);
    return true;
  }
};

template <class Req>
struct snow::wire::Codec<snow::Request<Req>> {
  static constexpr KindMask kKinds = KindBit(Kind::kStruct);
  static void Encode(Writer& w, const snow::Request<Req>& v) {
    auto& request = const_cast<snow::Request<Req>&>(v);  // the form only refers; encoding reads
    snow::dist_internal::RequestForm<Req> form{request.body, request.from};
    EncodeValue(w, form);
  }
  static bool Decode(Reader& r, snow::Request<Req>& out) {
    snow::dist_internal::RequestForm<Req> form{out.body, out.from};
    return DecodeValue(r, form);
  }
};

template <class R>
struct snow::wire::Codec<snow::CallReply<R>> {
  static constexpr KindMask kKinds = KindBit(Kind::kStruct);
  static void Encode(Writer& w, const snow::CallReply<R>& v) {
    uint64_t ref = v.ref.bits();
    snow::dist_internal::ReplyForm<R> form{ref, const_cast<R&>(v.value)};
    EncodeValue(w, form);
  }
  static bool Decode(Reader& r, snow::CallReply<R>& out) {
    uint64_t ref = 0;
    snow::dist_internal::ReplyForm<R> form{ref, out.value};
    if (!DecodeValue(r, form)) return false;
    out.ref = snow::Ref::FromBits(ref);
    return true;
  }
};
