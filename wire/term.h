// wire/term.h — Term, the dynamic STF value: any term, built or decoded at run time, for code
// that handles values it has no C++ type for (tools, routers, logging). It prints as text and
// encodes/decodes to exactly the same bytes as the typed path (codec.h), so the two interoperate
// both ways; Term is also a field type on the typed path (a message may carry a Term payload).
//
//   using snow::wire::Term;
//   Term t = Term::Struct("demo.Ping", {{"n", Term::Int(42)},
//                                       {"tags", Term::List({Term::Atom("a")})}});
//   snow::wire::ByteBuffer buf;
//   absl::Status s = snow::wire::EncodeTerm(t, buf);
//   absl::StatusOr<Term> back = snow::wire::DecodeTerm(buf);
//   std::string text = t.ToString();   // demo.Ping{n: 42, tags: [a]}
//
//   absl::StatusOr<Term> dyn = snow::wire::ToTerm(ping);            // typed -> dynamic
//   absl::StatusOr<Ping> typed = snow::wire::FromTerm<Ping>(*dyn);  // dynamic -> typed
//
// Accessors of the wrong kind are programming errors and abort (check kind() first). Floats
// compare bitwise, so NaN == NaN and -0.0 != 0.0 for Terms. Maps and sets keep the order they
// were built or decoded in, and equality is order-sensitive.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/codec.h"
#include "snow/wire/internal/box.h"
#include "snow/wire/limits.h"
#include "snow/wire/reader.h"
#include "snow/wire/types.h"
#include "snow/wire/writer.h"

namespace snow::wire {

class Term {
 public:
  struct Field;  // {name, value}
  using Entry = std::pair<Term, Term>;

  // Unit.
  Term() = default;

  static Term Unit() { return Term(); }
  static Term Bool(bool v) { return Term(Kind::kBool, v); }
  static Term Int(int64_t v) { return Term(Kind::kInt, v); }
  static Term Uint(uint64_t v) { return Term(Kind::kUint, v); }
  static Term Float(double v) { return Term(Kind::kFloat, v); }
  static Term String(std::string utf8) { return Term(Kind::kString, std::move(utf8)); }
  static Term Binary(std::string bytes) { return Term(Kind::kBinary, std::move(bytes)); }
  static Term Atom(std::string name) { return Term(Kind::kAtom, std::move(name)); }
  static Term Node(std::string name) { return Term(Kind::kNode, std::move(name)); }
  static Term List(std::vector<Term> items) { return Term(Kind::kList, std::move(items)); }
  static Term Tuple(std::vector<Term> items) { return Term(Kind::kTuple, std::move(items)); }
  static Term Set(std::vector<Term> items) { return Term(Kind::kSet, std::move(items)); }
  static Term Map(std::vector<Entry> entries) { return Term(Kind::kMap, std::move(entries)); }
  static Term Struct(std::string type_name, std::vector<Field> fields);
  static Term Variant(std::string type_name, std::string alternative, std::vector<Field> fields);
  static Term None() { return Term(Kind::kOptional, std::monostate{}); }
  static Term Some(Term value);
  static Term Ok(Term value);
  // `code` is an absl::StatusCode value and must not be 0 (OK) to be encodable.
  static Term Error(uint32_t code, std::string message);
  static Term Error(const absl::Status& status);
  static Term Pid(wire::Pid pid);
  static Term Reference(wire::Reference ref);

  Kind kind() const { return kind_; }

  bool bool_value() const;
  int64_t int_value() const;
  uint64_t uint_value() const;
  double float_value() const;
  // The text of a string, the bytes of a binary, the name of an atom or node.
  const std::string& string_value() const;
  // List, tuple and set items.
  const std::vector<Term>& items() const;
  std::vector<Term>& mutable_items();
  const std::vector<Entry>& entries() const;
  std::vector<Entry>& mutable_entries();
  // Struct and variant.
  const std::string& type_name() const;
  const std::string& alternative() const;  // variant only
  const std::vector<Field>& fields() const;
  std::vector<Field>& mutable_fields();
  const Term* FindField(std::string_view name) const;  // nullptr if absent
  // Optional: has_value(); some and ok: value().
  bool has_value() const;
  const Term& value() const;
  // Result: is_ok(); error code and message.
  bool is_ok() const;
  uint32_t error_code() const;
  const std::string& error_message() const;
  const wire::Pid& pid() const;
  const wire::Reference& reference() const;

  // A readable, unambiguous text form (wire/STF.md §10), for logs and tools. Long binaries are
  // abbreviated.
  std::string ToString() const;

  friend bool operator==(const Term& a, const Term& b);
  friend bool operator!=(const Term& a, const Term& b) { return !(a == b); }
  friend void PrintTo(const Term& t, std::ostream* os);  // GoogleTest

 private:
  struct Record;
  struct ErrorInfo {
    uint32_t code;
    std::string message;
  };
  using Storage =
      std::variant<std::monostate, bool, int64_t, uint64_t, double, std::string, std::vector<Term>,
                   std::vector<Entry>, wire_internal::Box<Record>, wire_internal::Box<ErrorInfo>,
                   wire_internal::Box<wire::Pid>, wire_internal::Box<wire::Reference>>;

  template <class V>
  Term(Kind kind, V&& v) : kind_(kind), v_(std::forward<V>(v)) {}

  Kind kind_ = Kind::kUnit;
  Storage v_;
};

struct Term::Field {
  std::string name;
  Term value;
  friend bool operator==(const Field&, const Field&) = default;
};

struct Term::Record {
  std::string type_name;
  std::string alternative;
  std::vector<Field> fields;
};

// Encodes version byte + term. kInvalidArgument for what the format cannot carry: invalid UTF-8
// in a string, a name (atom, node, type, field) over 255 bytes or not UTF-8, duplicate field
// names, an error result with code 0, a reference with more than 4 words, nesting beyond
// options.max_depth. On error `out` is left as it was.
absl::Status EncodeTerm(const Term& term, ByteBuffer& out, const EncodeOptions& options = {});

// Decodes exactly one term: same contract and error codes as Decode<T> (codec.h).
absl::StatusOr<Term> DecodeTerm(ByteSpan bytes, const DecodeLimits& limits = {});
inline absl::StatusOr<Term> DecodeTerm(std::string_view bytes, const DecodeLimits& limits = {}) {
  return DecodeTerm(AsBytes(bytes), limits);
}

// Term on the typed path: a field of type Term carries any value.
template <>
struct Codec<Term> {
  static void Encode(Writer& w, const Term& t);
  static bool Decode(Reader& r, Term& out);
};

// Typed -> dynamic and back, through the bytes (so they agree by construction). T must own its
// data (no std::string_view / BinaryView / PidView fields: the bytes are gone on return).
template <class T>
absl::StatusOr<Term> ToTerm(const T& value, const EncodeOptions& options = {}) {
  ByteBuffer buf;
  absl::Status s = Encode(value, buf, options);
  if (!s.ok()) return s;
  return DecodeTerm(buf.view());
}

template <class T>
absl::StatusOr<T> FromTerm(const Term& term, const DecodeLimits& limits = {},
                           CodecContext* context = nullptr) {
  ByteBuffer buf;
  absl::Status s = EncodeTerm(term, buf);
  if (!s.ok()) return s;
  return Decode<T>(buf.view(), limits, context);
}

}  // namespace snow::wire
