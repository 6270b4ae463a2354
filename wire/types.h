// wire/types.h — the plain value types STF has and C++ lacks: Unit, Atom, Binary, NodeName, Pid,
// Reference (plus zero-copy *View forms for decoding), the Kind enumeration of STF values, and
// CodecContext, the per-call hook for Codec specialisations of foreign types.
//
// wire/ knows nothing of core/: Pid here is the *wire* form of a process id — the node's name and
// creation, the shard and a serial — which dist/ maps to and from core's 64-bit snow::Pid with a
// Codec specialisation (see codec.h).
//
//   snow::wire::Pid p{.node = "b@127.0.0.1:4370", .creation = 7, .shard = 3, .serial = 1234};
//   snow::wire::Atom ok{"ok"};
//   snow::wire::Binary blob{std::string("\x00\xff", 2)};
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/container/inlined_vector.h"

namespace snow::wire {

// The kinds of STF values (STF.md §3). Packed arrays decode as kList; a shape reference as the
// kind of the shape it names.
enum class Kind : uint8_t {
  kUnit,
  kBool,
  kInt,
  kUint,
  kFloat,
  kString,
  kBinary,
  kAtom,
  kList,
  kTuple,
  kMap,
  kSet,
  kStruct,
  kVariant,
  kOptional,
  kResult,
  kPid,
  kReference,
  kNode,
};
inline constexpr int kNumKinds = 19;

// "int", "string", ...: the names STF.md and error messages use.
std::string_view KindName(Kind kind);

// The unit value (Erlang's [], Rust's ()): carries no data. std::monostate maps to it too.
struct Unit {
  friend bool operator==(Unit, Unit) { return true; }
  friend auto operator<=>(Unit, Unit) = default;
};

// A symbol: a short UTF-8 name (at most 255 bytes) compared by content, like an Erlang atom.
struct Atom {
  std::string name;
  friend bool operator==(const Atom&, const Atom&) = default;
  friend auto operator<=>(const Atom&, const Atom&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Atom& a) {
    return H::combine(std::move(h), a.name);
  }
};

// Raw bytes, as opposed to std::string which STF treats as UTF-8 text.
struct Binary {
  std::string bytes;
  friend bool operator==(const Binary&, const Binary&) = default;
  friend auto operator<=>(const Binary&, const Binary&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Binary& b) {
    return H::combine(std::move(h), b.bytes);
  }
};

// Decodes a binary without copying: the view points into the decoder's input.
struct BinaryView {
  std::string_view bytes;
  friend bool operator==(const BinaryView&, const BinaryView&) = default;
};

// A node's name (e.g. "b@127.0.0.1:4370") as a value of its own, at most 255 bytes of UTF-8.
struct NodeName {
  std::string name;
  friend bool operator==(const NodeName&, const NodeName&) = default;
  friend auto operator<=>(const NodeName&, const NodeName&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const NodeName& n) {
    return H::combine(std::move(h), n.name);
  }
};

// A process id as it crosses the wire. `creation` tells incarnations of one node apart; `shard`
// and `serial` are the process's place on that node (ARCHITECTURE.md, "PIDs").
struct Pid {
  std::string node;
  uint32_t creation = 0;
  uint32_t shard = 0;
  uint64_t serial = 0;
  friend bool operator==(const Pid&, const Pid&) = default;
  friend auto operator<=>(const Pid&, const Pid&) = default;
  template <typename H>
  friend H AbslHashValue(H h, const Pid& p) {
    return H::combine(std::move(h), p.node, p.creation, p.shard, p.serial);
  }
};

// A Pid whose node name points into the decoder's input: what a Codec for core's snow::Pid reads,
// so that resolving a remote pid allocates nothing.
struct PidView {
  std::string_view node;
  uint32_t creation = 0;
  uint32_t shard = 0;
  uint64_t serial = 0;
  friend bool operator==(const PidView&, const PidView&) = default;
};

// A unique reference (monitor refs, call tags): node, creation and up to 4 id words.
inline constexpr size_t kMaxReferenceWords = 4;
using ReferenceWords = absl::InlinedVector<uint64_t, kMaxReferenceWords>;

struct Reference {
  std::string node;
  uint32_t creation = 0;
  ReferenceWords words;  // at most kMaxReferenceWords
  friend bool operator==(const Reference& a, const Reference& b) {
    return a.node == b.node && a.creation == b.creation && a.words == b.words;
  }
  friend bool operator<(const Reference& a, const Reference& b) {
    if (a.node != b.node) return a.node < b.node;
    if (a.creation != b.creation) return a.creation < b.creation;
    return a.words < b.words;
  }
  template <typename H>
  friend H AbslHashValue(H h, const Reference& r) {
    return H::combine(std::move(h), r.node, r.creation, r.words);
  }
};

struct ReferenceView {
  std::string_view node;
  uint32_t creation = 0;
  ReferenceWords words;
  friend bool operator==(const ReferenceView& a, const ReferenceView& b) {
    return a.node == b.node && a.creation == b.creation && a.words == b.words;
  }
};

// Opaque per-call state for Codec specialisations of types wire does not own. dist/ derives its
// connection state (node table, creations) from it and passes it in EncodeOptions::context or to
// Decode; wire only carries the pointer through to Writer::context()/Reader::context().
class CodecContext {
 public:
  virtual ~CodecContext() = default;
};

}  // namespace snow::wire
