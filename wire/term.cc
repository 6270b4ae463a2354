#include "snow/wire/term.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ostream>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_format.h"
#include "snow/wire/internal/strings.h"
#include "snow/wire/internal/tags.h"

namespace snow::wire {
namespace {

[[noreturn]] void WrongKind(const char* accessor, Kind kind) {
  std::fprintf(stderr, "snow::wire::Term::%s() called on a term of kind %s\n", accessor,
               std::string(KindName(kind)).c_str());
  std::abort();
}

void CheckKind(bool ok, const char* accessor, Kind kind) {
  if (!ok) WrongKind(accessor, kind);
}

bool SameBits(double a, double b) {
  uint64_t x, y;
  std::memcpy(&x, &a, 8);
  std::memcpy(&y, &b, 8);
  return x == y;
}

}  // namespace

// --- Construction and access -----------------------------------------------------------------

Term Term::Struct(std::string type_name, std::vector<Field> fields) {
  return Term(Kind::kStruct, wire_internal::Box<Record>(
                                 Record{std::move(type_name), std::string(), std::move(fields)}));
}

Term Term::Variant(std::string type_name, std::string alternative, std::vector<Field> fields) {
  return Term(Kind::kVariant,
              wire_internal::Box<Record>(
                  Record{std::move(type_name), std::move(alternative), std::move(fields)}));
}

Term Term::Some(Term value) {
  std::vector<Term> v;
  v.push_back(std::move(value));
  return Term(Kind::kOptional, std::move(v));
}

Term Term::Ok(Term value) {
  std::vector<Term> v;
  v.push_back(std::move(value));
  return Term(Kind::kResult, std::move(v));
}

Term Term::Error(uint32_t code, std::string message) {
  return Term(Kind::kResult, wire_internal::Box<ErrorInfo>(ErrorInfo{code, std::move(message)}));
}

Term Term::Error(const absl::Status& status) {
  return Error(static_cast<uint32_t>(status.code()), std::string(status.message()));
}

Term Term::Pid(wire::Pid pid) {
  return Term(Kind::kPid, wire_internal::Box<wire::Pid>(std::move(pid)));
}

Term Term::Reference(wire::Reference ref) {
  return Term(Kind::kReference, wire_internal::Box<wire::Reference>(std::move(ref)));
}

bool Term::bool_value() const {
  CheckKind(kind_ == Kind::kBool, "bool_value", kind_);
  return std::get<bool>(v_);
}
int64_t Term::int_value() const {
  CheckKind(kind_ == Kind::kInt, "int_value", kind_);
  return std::get<int64_t>(v_);
}
uint64_t Term::uint_value() const {
  CheckKind(kind_ == Kind::kUint, "uint_value", kind_);
  return std::get<uint64_t>(v_);
}
double Term::float_value() const {
  CheckKind(kind_ == Kind::kFloat, "float_value", kind_);
  return std::get<double>(v_);
}
const std::string& Term::string_value() const {
  CheckKind(std::holds_alternative<std::string>(v_), "string_value", kind_);
  return std::get<std::string>(v_);
}
const std::vector<Term>& Term::items() const {
  CheckKind(kind_ == Kind::kList || kind_ == Kind::kTuple || kind_ == Kind::kSet, "items", kind_);
  return std::get<std::vector<Term>>(v_);
}
std::vector<Term>& Term::mutable_items() {
  CheckKind(kind_ == Kind::kList || kind_ == Kind::kTuple || kind_ == Kind::kSet, "mutable_items",
            kind_);
  return std::get<std::vector<Term>>(v_);
}
const std::vector<Term::Entry>& Term::entries() const {
  CheckKind(kind_ == Kind::kMap, "entries", kind_);
  return std::get<std::vector<Entry>>(v_);
}
std::vector<Term::Entry>& Term::mutable_entries() {
  CheckKind(kind_ == Kind::kMap, "mutable_entries", kind_);
  return std::get<std::vector<Entry>>(v_);
}
const std::string& Term::type_name() const {
  CheckKind(kind_ == Kind::kStruct || kind_ == Kind::kVariant, "type_name", kind_);
  return std::get<wire_internal::Box<Record>>(v_)->type_name;
}
const std::string& Term::alternative() const {
  CheckKind(kind_ == Kind::kVariant, "alternative", kind_);
  return std::get<wire_internal::Box<Record>>(v_)->alternative;
}
const std::vector<Term::Field>& Term::fields() const {
  CheckKind(kind_ == Kind::kStruct || kind_ == Kind::kVariant, "fields", kind_);
  return std::get<wire_internal::Box<Record>>(v_)->fields;
}
std::vector<Term::Field>& Term::mutable_fields() {
  CheckKind(kind_ == Kind::kStruct || kind_ == Kind::kVariant, "mutable_fields", kind_);
  return std::get<wire_internal::Box<Record>>(v_)->fields;
}
const Term* Term::FindField(std::string_view name) const {
  for (const Field& f : fields()) {
    if (f.name == name) return &f.value;
  }
  return nullptr;
}
bool Term::has_value() const {
  CheckKind(kind_ == Kind::kOptional, "has_value", kind_);
  return std::holds_alternative<std::vector<Term>>(v_);
}
const Term& Term::value() const {
  CheckKind((kind_ == Kind::kOptional || kind_ == Kind::kResult) &&
                std::holds_alternative<std::vector<Term>>(v_),
            "value", kind_);
  return std::get<std::vector<Term>>(v_)[0];
}
bool Term::is_ok() const {
  CheckKind(kind_ == Kind::kResult, "is_ok", kind_);
  return std::holds_alternative<std::vector<Term>>(v_);
}
uint32_t Term::error_code() const {
  CheckKind(kind_ == Kind::kResult && !is_ok(), "error_code", kind_);
  return std::get<wire_internal::Box<ErrorInfo>>(v_)->code;
}
const std::string& Term::error_message() const {
  CheckKind(kind_ == Kind::kResult && !is_ok(), "error_message", kind_);
  return std::get<wire_internal::Box<ErrorInfo>>(v_)->message;
}
const wire::Pid& Term::pid() const {
  CheckKind(kind_ == Kind::kPid, "pid", kind_);
  return *std::get<wire_internal::Box<wire::Pid>>(v_);
}
const wire::Reference& Term::reference() const {
  CheckKind(kind_ == Kind::kReference, "reference", kind_);
  return *std::get<wire_internal::Box<wire::Reference>>(v_);
}

bool operator==(const Term& a, const Term& b) {
  if (a.kind_ != b.kind_ || a.v_.index() != b.v_.index()) return false;
  switch (a.kind_) {
    case Kind::kUnit:
      return true;
    case Kind::kBool:
      return a.bool_value() == b.bool_value();
    case Kind::kInt:
      return a.int_value() == b.int_value();
    case Kind::kUint:
      return a.uint_value() == b.uint_value();
    case Kind::kFloat:
      return SameBits(a.float_value(), b.float_value());
    case Kind::kString:
    case Kind::kBinary:
    case Kind::kAtom:
    case Kind::kNode:
      return a.string_value() == b.string_value();
    case Kind::kList:
    case Kind::kTuple:
    case Kind::kSet:
      return a.items() == b.items();
    case Kind::kMap:
      return a.entries() == b.entries();
    case Kind::kStruct:
    case Kind::kVariant: {
      const auto& x = *std::get<wire_internal::Box<Term::Record>>(a.v_);
      const auto& y = *std::get<wire_internal::Box<Term::Record>>(b.v_);
      return x.type_name == y.type_name && x.alternative == y.alternative && x.fields == y.fields;
    }
    case Kind::kOptional:
      return !a.has_value() || a.value() == b.value();
    case Kind::kResult:
      if (a.is_ok()) return a.value() == b.value();
      return a.error_code() == b.error_code() && a.error_message() == b.error_message();
    case Kind::kPid:
      return a.pid() == b.pid();
    case Kind::kReference:
      return a.reference() == b.reference();
  }
  return false;
}

// --- Text form -------------------------------------------------------------------------------

namespace {

void AppendQuoted(std::string& out, std::string_view s, char quote) {
  out.push_back(quote);
  for (unsigned char c : s) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      default:
        if (c == static_cast<unsigned char>(quote)) {
          out.push_back('\\');
          out.push_back(static_cast<char>(c));
        } else if (c < 0x20 || c == 0x7F) {
          out += absl::StrFormat("\\x%02x", c);
        } else {
          out.push_back(static_cast<char>(c));  // UTF-8 is printed as is
        }
    }
  }
  out.push_back(quote);
}

// Bare if it looks like an identifier (letters, digits, _ . @ : -, not starting with a digit),
// else quoted with '...'. Used for atoms, type, field and alternative names.
void AppendName(std::string& out, std::string_view name) {
  bool bare = !name.empty() && !(name[0] >= '0' && name[0] <= '9') && name[0] != '-';
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
          c == '.' || c == '@' || c == ':' || c == '-')) {
      bare = false;
      break;
    }
  }
  // Words the text form uses for itself are quoted when they are atoms.
  if (name == "true" || name == "false" || name == "none" || name == "some" || name == "ok" ||
      name == "error" || name == "nan" || name == "inf") {
    bare = false;
  }
  if (bare) {
    out.append(name);
  } else {
    AppendQuoted(out, name, '\'');
  }
}

void AppendFloat(std::string& out, double d) {
  if (std::isnan(d)) {
    out += std::signbit(d) ? "-nan" : "nan";
    return;
  }
  if (std::isinf(d)) {
    out += d < 0 ? "-inf" : "inf";
    return;
  }
  // Shortest %g precision that reads back to the same double.
  char buf[40];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof(buf), "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  out += buf;
  if (std::strpbrk(buf, ".e") == nullptr) out += ".0";  // a float never reads as an int
}

void AppendTerm(std::string& out, const Term& t);

void AppendSeq(std::string& out, const std::vector<Term>& items, const char* open,
               const char* close) {
  out += open;
  for (size_t i = 0; i < items.size(); ++i) {
    if (i > 0) out += ", ";
    AppendTerm(out, items[i]);
  }
  out += close;
}

void AppendFields(std::string& out, const std::vector<Term::Field>& fields) {
  out += "{";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ", ";
    AppendName(out, fields[i].name);
    out += ": ";
    AppendTerm(out, fields[i].value);
  }
  out += "}";
}

void AppendTerm(std::string& out, const Term& t) {
  switch (t.kind()) {
    case Kind::kUnit:
      out += "()";
      break;
    case Kind::kBool:
      out += t.bool_value() ? "true" : "false";
      break;
    case Kind::kInt:
      out += std::to_string(t.int_value());
      break;
    case Kind::kUint:
      out += std::to_string(t.uint_value());
      out += "u";
      break;
    case Kind::kFloat:
      AppendFloat(out, t.float_value());
      break;
    case Kind::kString:
      AppendQuoted(out, t.string_value(), '"');
      break;
    case Kind::kBinary: {
      const std::string& b = t.string_value();
      constexpr size_t kShown = 32;
      out += "<<";
      for (size_t i = 0; i < b.size() && i < kShown; ++i) {
        if (i > 0) out += " ";
        out += absl::StrFormat("%02x", static_cast<unsigned char>(b[i]));
      }
      if (b.size() > kShown) out += absl::StrFormat(" ...(%d bytes)", b.size());
      out += ">>";
      break;
    }
    case Kind::kAtom:
      AppendName(out, t.string_value());
      break;
    case Kind::kNode:
      out += "#Node<";
      out += t.string_value();
      out += ">";
      break;
    case Kind::kList:
      AppendSeq(out, t.items(), "[", "]");
      break;
    case Kind::kTuple:
      AppendSeq(out, t.items(), "{", "}");
      break;
    case Kind::kSet:
      AppendSeq(out, t.items(), "#set{", "}");
      break;
    case Kind::kMap: {
      out += "#{";
      bool first = true;
      for (const auto& [k, v] : t.entries()) {
        if (!first) out += ", ";
        first = false;
        AppendTerm(out, k);
        out += " => ";
        AppendTerm(out, v);
      }
      out += "}";
      break;
    }
    case Kind::kStruct:
      AppendName(out, t.type_name());
      AppendFields(out, t.fields());
      break;
    case Kind::kVariant:
      AppendName(out, t.type_name());
      out += "::";
      AppendName(out, t.alternative());
      AppendFields(out, t.fields());
      break;
    case Kind::kOptional:
      if (t.has_value()) {
        out += "some(";
        AppendTerm(out, t.value());
        out += ")";
      } else {
        out += "none";
      }
      break;
    case Kind::kResult:
      if (t.is_ok()) {
        out += "ok(";
        AppendTerm(out, t.value());
        out += ")";
      } else {
        out += "error(";
        if (t.error_code() >= 1 && t.error_code() <= 16) {
          out += absl::StatusCodeToString(static_cast<absl::StatusCode>(t.error_code()));
        } else {
          out += std::to_string(t.error_code());
        }
        out += ", ";
        AppendQuoted(out, t.error_message(), '"');
        out += ")";
      }
      break;
    case Kind::kPid: {
      const wire::Pid& p = t.pid();
      out += absl::StrFormat("<%s#%d.%d.%d>", p.node, p.creation, p.shard, p.serial);
      break;
    }
    case Kind::kReference: {
      const wire::Reference& r = t.reference();
      out += absl::StrFormat("#Ref<%s#%d", r.node, r.creation);
      for (uint64_t w : r.words) out += absl::StrFormat(".%d", w);
      out += ">";
      break;
    }
  }
}

}  // namespace

std::string Term::ToString() const {
  std::string out;
  AppendTerm(out, *this);
  return out;
}

void PrintTo(const Term& t, std::ostream* os) { *os << t.ToString(); }

// --- Encoding --------------------------------------------------------------------------------

namespace {

class TermEncoder {
 public:
  explicit TermEncoder(Writer& w) : w_(w) {}

  void Encode(const Term& t) {
    switch (t.kind()) {
      case Kind::kUnit:
        w_.WriteUnit();
        return;
      case Kind::kBool:
        w_.WriteBool(t.bool_value());
        return;
      case Kind::kInt:
        w_.WriteInt(t.int_value());
        return;
      case Kind::kUint:
        w_.WriteUint(t.uint_value());
        return;
      case Kind::kFloat:
        w_.WriteFloat(t.float_value());
        return;
      case Kind::kString:
        w_.WriteString(t.string_value());
        return;
      case Kind::kBinary:
        w_.WriteBinary(t.string_value());
        return;
      case Kind::kAtom:
        w_.WriteAtom(t.string_value());
        return;
      case Kind::kNode:
        w_.WriteNode(t.string_value());
        return;
      case Kind::kList:
        EncodeList(t.items());
        return;
      case Kind::kTuple:
        if (!w_.WriteTupleHeader(t.items().size())) return;
        for (const Term& x : t.items()) Encode(x);
        w_.Leave();
        return;
      case Kind::kSet:
        if (!w_.WriteSetHeader(t.items().size())) return;
        for (const Term& x : t.items()) Encode(x);
        w_.Leave();
        return;
      case Kind::kMap:
        if (!w_.WriteMapHeader(t.entries().size())) return;
        for (const auto& [k, v] : t.entries()) {
          Encode(k);
          Encode(v);
        }
        w_.Leave();
        return;
      case Kind::kStruct:
      case Kind::kVariant:
        EncodeRecord(t);
        return;
      case Kind::kOptional:
        if (!t.has_value()) {
          w_.WriteNone();
        } else if (w_.WriteSomeHeader()) {
          Encode(t.value());
          w_.Leave();
        }
        return;
      case Kind::kResult:
        if (!t.is_ok()) {
          w_.WriteError(t.error_code(), t.error_message());
        } else if (w_.WriteOkHeader()) {
          Encode(t.value());
          w_.Leave();
        }
        return;
      case Kind::kPid:
        w_.WritePid(t.pid());
        return;
      case Kind::kReference: {
        const wire::Reference& r = t.reference();
        w_.WriteReference(r.node, r.creation, r.words);
        return;
      }
    }
  }

 private:
  // A non-empty list of only ints (only uints, only floats) is written packed, exactly as the
  // typed path writes std::vector of numbers (STF.md §6.1).
  void EncodeList(const std::vector<Term>& items) {
    Kind packed = items.empty() ? Kind::kUnit : items[0].kind();
    for (const Term& x : items) {
      if (x.kind() != packed) {
        packed = Kind::kUnit;
        break;
      }
    }
    switch (packed) {
      case Kind::kInt:
        if (!w_.WriteIntArrayHeader(items.size())) return;
        for (const Term& x : items) w_.WriteIntArrayItem(x.int_value());
        break;
      case Kind::kUint:
        if (!w_.WriteUintArrayHeader(items.size())) return;
        for (const Term& x : items) w_.WriteUintArrayItem(x.uint_value());
        break;
      case Kind::kFloat:
        if (!w_.WriteFloatArrayHeader(items.size())) return;
        for (const Term& x : items) w_.WriteFloatArrayItem(x.float_value());
        break;
      default:
        if (!w_.WriteListHeader(items.size())) return;
        for (const Term& x : items) Encode(x);
        break;
    }
    w_.Leave();
  }

  // Shapes are keyed by content here (the typed path keys them by C++ type): the same type name,
  // alternative and field names in the same order make the same shape.
  void EncodeRecord(const Term& t) {
    const bool is_variant = t.kind() == Kind::kVariant;
    std::string key;
    key.push_back(is_variant ? 'v' : 's');
    auto add = [&key](std::string_view s) {
      key += std::to_string(s.size());
      key.push_back(':');
      key.append(s);
    };
    add(t.type_name());
    if (is_variant) add(t.alternative());
    names_.clear();
    for (const Term::Field& f : t.fields()) {
      add(f.name);
      names_.push_back(f.name);
    }
    bool opened;
    if (auto it = shapes_.find(key); it != shapes_.end()) {
      opened = w_.WriteShapeRef(it->second);
    } else {
      const uint32_t index = w_.next_shape_index();
      opened = is_variant ? w_.WriteVariantHeader(nullptr, t.type_name(), t.alternative(), names_)
                          : w_.WriteStructHeader(nullptr, t.type_name(), names_);
      if (opened && index < kMaxShapes) shapes_.emplace(std::move(key), index);
    }
    if (!opened) return;
    for (const Term::Field& f : t.fields()) Encode(f.value);
    w_.Leave();
  }

  Writer& w_;
  absl::flat_hash_map<std::string, uint32_t> shapes_;
  std::vector<std::string_view> names_;
};

}  // namespace

absl::Status EncodeTerm(const Term& term, ByteBuffer& out, const EncodeOptions& options) {
  const size_t start = out.size();
  absl::Status status;
  {
    Writer w(out, options);
    w.WriteVersion();
    TermEncoder(w).Encode(term);
    status = w.Finish();
  }
  if (!status.ok()) out.Truncate(start);
  return status;
}

// A Term nested in a typed message starts a fresh content-keyed shape table; shape indices are
// shared through the Writer, so references stay consistent with the typed shapes around it.
void Codec<Term>::Encode(Writer& w, const Term& t) { TermEncoder(w).Encode(t); }

}  // namespace snow::wire

// --- Decoding --------------------------------------------------------------------------------

namespace snow::wire_internal {

using ::snow::wire::Kind;
using ::snow::wire::NameCursor;
using ::snow::wire::PidView;
using ::snow::wire::Reader;
using ::snow::wire::ReferenceView;
using ::snow::wire::StructHeader;
using ::snow::wire::Term;

class TermDecoder {
 public:
  static bool Read(Reader& r, Term& out) {
    const size_t at = r.offset();
    uint8_t tag = 0;
    if (!r.ReadTag(&tag)) return false;
    if (tag >= kFixIntBase) {
      out = Term::Int(FixIntValue(tag));
      return true;
    }
    if (tag >= kFixStringBase && tag < kFixListBase) return ReadString(r, tag, at, out);
    if ((tag >= kFixListBase && tag < kFixStructBase) || tag == kTagList || tag == kTagIntArray ||
        tag == kTagUintArray || tag == kTagFloatArray) {
      return ReadList(r, tag, at, out);
    }
    if ((tag >= kFixStructBase && tag < kFixMapBase) || tag == kTagStruct || tag == kTagVariant ||
        tag == kTagShapeRef) {
      return ReadRecord(r, tag, at, out);
    }
    if ((tag >= kFixMapBase && tag < kFixIntBase) || tag == kTagMap) {
      return ReadMap(r, tag, at, out);
    }
    uint64_t u;
    switch (tag) {
      case kTagUnit:
        out = Term::Unit();
        return true;
      case kTagFalse:
      case kTagTrue:
        out = Term::Bool(tag == kTagTrue);
        return true;
      case kTagInt:
        if (!r.ReadVarint(&u)) return false;
        out = Term::Int(UnZigZag(u));
        return true;
      case kTagUint:
        if (!r.ReadVarint(&u)) return false;
        out = Term::Uint(u);
        return true;
      case kTagFloat: {
        double d;
        if (!r.ReadPackedFloat(&d)) return false;
        out = Term::Float(d);
        return true;
      }
      case kTagString:
        return ReadString(r, tag, at, out);
      case kTagBinary: {
        std::string_view bytes;
        if (!r.ReadBinaryBody(&bytes)) return false;
        out = Term::Binary(std::string(bytes));
        return true;
      }
      case kTagAtom:
      case kTagNode: {
        std::string_view name;
        if (!r.ReadName(&name, tag == kTagAtom ? "atom" : "node name")) return false;
        out = tag == kTagAtom ? Term::Atom(std::string(name)) : Term::Node(std::string(name));
        return true;
      }
      case kTagTuple:
      case kTagSet: {
        uint64_t count;
        if (!r.ReadCount(1, &count) || !r.Enter(at)) return false;
        std::vector<Term> items;
        if (!ReadItems(r, count, items)) return false;
        r.Leave();
        out = tag == kTagTuple ? Term::Tuple(std::move(items)) : Term::Set(std::move(items));
        return true;
      }
      case kTagNone:
        out = Term::None();
        return true;
      case kTagSome:
      case kTagOk: {
        if (!r.Enter(at)) return false;
        Term inner;
        if (!Read(r, inner)) return false;
        r.Leave();
        out = tag == kTagSome ? Term::Some(std::move(inner)) : Term::Ok(std::move(inner));
        return true;
      }
      case kTagError: {
        uint32_t code;
        std::string_view message;
        if (!r.ReadErrorBody(&code, &message)) return false;
        out = Term::Error(code, std::string(message));
        return true;
      }
      case kTagPid: {
        PidView p;
        if (!r.ReadPidBody(&p)) return false;
        out = Term::Pid(wire::Pid{std::string(p.node), p.creation, p.shard, p.serial});
        return true;
      }
      case kTagReference: {
        ReferenceView v;
        if (!r.ReadReferenceBody(&v)) return false;
        out = Term::Reference(wire::Reference{std::string(v.node), v.creation, v.words});
        return true;
      }
      default:
        return r.FailBadTag(tag, at);
    }
  }

 private:
  static bool ReadString(Reader& r, uint8_t tag, size_t at, Term& out) {
    std::string_view s;
    if (!r.ReadStringFromTag(tag, at, &s)) return false;
    out = Term::String(std::string(s));
    return true;
  }

  static bool ReadItems(Reader& r, uint64_t count, std::vector<Term>& items) {
    items.reserve(count);  // CheckCount bounded count by the bytes left
    for (uint64_t i = 0; i < count; ++i) {
      items.emplace_back();
      if (!Read(r, items.back())) {
        r.AddContext(Cat("[", i, "]"));
        return false;
      }
    }
    return true;
  }

  static bool ReadList(Reader& r, uint8_t tag, size_t at, Term& out) {
    uint64_t count;
    Reader::ListForm form;
    if (!r.ListFromTag(tag, at, &count, &form)) return false;
    std::vector<Term> items;
    if (form == Reader::ListForm::kValues) {
      if (!ReadItems(r, count, items)) return false;
    } else {
      items.reserve(count);
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t u;
        double d;
        switch (form) {
          case Reader::ListForm::kInts:
            if (!r.ReadVarint(&u)) return false;
            items.push_back(Term::Int(UnZigZag(u)));
            break;
          case Reader::ListForm::kUints:
            if (!r.ReadVarint(&u)) return false;
            items.push_back(Term::Uint(u));
            break;
          default:
            if (!r.ReadPackedFloat(&d)) return false;
            items.push_back(Term::Float(d));
        }
      }
    }
    r.Leave();
    out = Term::List(std::move(items));
    return true;
  }

  static bool ReadMap(Reader& r, uint8_t tag, size_t at, Term& out) {
    uint64_t count;
    if (tag == kTagMap) {
      if (!r.ReadCount(2, &count)) return false;
    } else {
      count = tag - kFixMapBase;
      if (!r.CheckCount(count, 2, at)) return false;
    }
    if (!r.Enter(at)) return false;
    std::vector<Term::Entry> entries;
    entries.reserve(count);
    for (uint64_t i = 0; i < count; ++i) {
      entries.emplace_back();
      if (!Read(r, entries.back().first) || !Read(r, entries.back().second)) {
        r.AddContext(Cat("{entry ", i, "}"));
        return false;
      }
    }
    r.Leave();
    out = Term::Map(std::move(entries));
    return true;
  }

  static bool ReadRecord(Reader& r, uint8_t tag, size_t at, Term& out) {
    StructHeader h;
    if (!r.StructFromTag(tag, at, &h)) return false;
    std::vector<Term::Field> fields;
    fields.reserve(h.count);
    NameCursor names(h.names);
    for (uint32_t i = 0; i < h.count; ++i) {
      fields.push_back(Term::Field{std::string(names.Next()), Term()});
      if (!Read(r, fields.back().value)) {
        r.AddContext(Cat(".", fields.back().name));
        return false;
      }
    }
    r.Leave();
    out = h.kind == Kind::kVariant ? Term::Variant(std::string(h.type_name),
                                                   std::string(h.alternative), std::move(fields))
                                   : Term::Struct(std::string(h.type_name), std::move(fields));
    return true;
  }
};

}  // namespace snow::wire_internal

namespace snow::wire {

absl::StatusOr<Term> DecodeTerm(ByteSpan bytes, const DecodeLimits& limits) {
  Reader r(bytes, limits);
  Term t;
  if (r.ReadVersion() && wire_internal::TermDecoder::Read(r, t) && r.ExpectEnd()) return t;
  return r.status();
}

bool Codec<Term>::Decode(Reader& r, Term& out) { return wire_internal::TermDecoder::Read(r, out); }

}  // namespace snow::wire
