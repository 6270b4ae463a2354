#include "snow/wire/reader.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_format.h"
#include "snow/wire/internal/strings.h"
#include "snow/wire/internal/utf8.h"

namespace snow::wire {
namespace {

using namespace ::snow::wire_internal;  // NOLINT: tag constants

constexpr absl::StatusCode kDataLoss = absl::StatusCode::kDataLoss;
constexpr absl::StatusCode kInvalid = absl::StatusCode::kInvalidArgument;
constexpr absl::StatusCode kExhausted = absl::StatusCode::kResourceExhausted;

bool IsReserved(uint8_t tag) { return tag >= kFirstReservedTag && tag < kFixStringBase; }

// The kind a tag announces, for messages; shape references say "struct" (they may be variants).
std::string_view TagKindName(uint8_t tag) {
  if (tag >= kFixIntBase) return "int";
  if (tag >= kFixMapBase) return "map";
  if (tag >= kFixShapeRefBase) return "struct";
  if (tag >= kFixStructBase) return "struct";
  if (tag >= kFixListBase) return "list";
  if (tag >= kFixStringBase) return "string";
  switch (tag) {
    case kTagUnit:
      return "unit";
    case kTagFalse:
    case kTagTrue:
      return "bool";
    case kTagInt:
      return "int";
    case kTagUint:
      return "uint";
    case kTagFloat:
      return "float";
    case kTagString:
      return "string";
    case kTagBinary:
      return "binary";
    case kTagAtom:
      return "atom";
    case kTagList:
    case kTagIntArray:
    case kTagUintArray:
    case kTagFloatArray:
      return "list";
    case kTagTuple:
      return "tuple";
    case kTagMap:
      return "map";
    case kTagSet:
      return "set";
    case kTagStruct:
    case kTagShapeRef:
      return "struct";
    case kTagVariant:
      return "variant";
    case kTagNone:
    case kTagSome:
      return "optional";
    case kTagOk:
    case kTagError:
      return "result";
    case kTagPid:
      return "pid";
    case kTagReference:
      return "reference";
    case kTagNode:
      return "node";
    default:
      return "reserved tag";
  }
}

}  // namespace

std::string_view KindName(Kind kind) {
  static constexpr std::string_view kNames[kNumKinds] = {
      "unit",     "bool",   "int",   "uint",      "float", "string", "binary",
      "atom",     "list",   "tuple", "map",       "set",   "struct", "variant",
      "optional", "result", "pid",   "reference", "node"};
  const auto i = static_cast<size_t>(kind);
  return i < kNumKinds ? kNames[i] : "?";
}

Reader::Reader(ByteSpan input, const DecodeLimits& limits, CodecContext* context)
    : begin_(input.data()),
      cur_(input.data()),
      end_(input.data() + input.size()),
      max_depth_(std::min(limits.max_depth, kHardMaxDepth)),
      limits_(limits),
      context_(context) {
  if (input.size() > limits.max_input_bytes) {
    FailAt(0, kExhausted,
           absl::StrFormat("input of %d bytes exceeds max_input_bytes %d", input.size(),
                           limits.max_input_bytes));
    end_ = cur_;  // nothing more can be read
  }
}

absl::Status Reader::status() const {
  if (ok()) return absl::OkStatus();
  std::string msg = absl::StrFormat("stf: %s at offset %d", error_what_, error_offset_);
  if (!error_path_.empty()) {
    msg += ", in ";
    for (auto it = error_path_.rbegin(); it != error_path_.rend(); ++it) msg += *it;
  }
  return absl::Status(code_, msg);
}

bool Reader::FailAt(size_t offset, absl::StatusCode code, std::string_view what) {
  if (ok()) {
    code_ = code;
    error_offset_ = offset;
    error_what_ = std::string(what);
  }
  return false;
}

void Reader::AddContext(std::string_view segment) {
  if (!ok() && error_path_.size() < 64) error_path_.emplace_back(segment);
}

bool Reader::FailTruncated(std::string_view what) {
  return Fail(kDataLoss, Cat("truncated input: expected ", what));
}

bool Reader::FailBadTag(uint8_t tag, size_t at) {
  return FailAt(at, kDataLoss, absl::StrFormat("bad tag 0x%02x (reserved)", tag));
}

bool Reader::FailKind(std::string_view expected, uint8_t tag, size_t at) {
  if (IsReserved(tag)) return FailBadTag(tag, at);
  return FailAt(at, kInvalid, Cat("expected ", expected, ", found ", TagKindName(tag)));
}

bool Reader::FailDepth(size_t at) {
  return FailAt(at, kExhausted, absl::StrFormat("nesting deeper than max_depth %d", max_depth_));
}

bool Reader::ReadVarintSlow(uint64_t* v) {
  const size_t at = offset();
  VarintError error = VarintError::kNone;
  const uint8_t* next = GetVarint(cur_, end_, v, &error);
  if (ABSL_PREDICT_TRUE(next != nullptr)) {
    cur_ = next;
    return true;
  }
  switch (error) {
    case VarintError::kTruncated:
      return FailAt(at, kDataLoss, "truncated varint");
    case VarintError::kOverlong:
      return FailAt(at, kDataLoss, "overlong varint (non-minimal encoding)");
    default:
      return FailAt(at, kDataLoss, "varint overflows 64 bits");
  }
}

bool Reader::ReadVersion() {
  if (!ok()) return false;
  if (cur_ == end_) return Fail(kDataLoss, "empty input: expected the STF version byte");
  if (*cur_ != kVersion1) {
    return Fail(kDataLoss, absl::StrFormat("bad version byte 0x%02x (this decoder reads STF "
                                           "version 0x%02x)",
                                           *cur_, kVersion1));
  }
  ++cur_;
  return true;
}

bool Reader::ExpectEnd() {
  if (!ok()) return false;
  if (cur_ != end_) {
    return Fail(kDataLoss,
                absl::StrFormat("trailing bytes: %d bytes after the end of the term", remaining()));
  }
  return true;
}

bool Reader::ReadLength(uint64_t* len, std::string_view what) {
  const size_t at = offset();
  if (!ReadVarint(len)) return false;
  if (*len > remaining()) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("%s length %d runs past the end of the input (%d bytes left)",
                                  what, *len, remaining()));
  }
  if (*len > limits_.max_string_bytes) {
    return FailAt(at, kExhausted,
                  absl::StrFormat("%s length %d exceeds max_string_bytes %d", what, *len,
                                  limits_.max_string_bytes));
  }
  return true;
}

bool Reader::CheckCount(uint64_t count, uint64_t min_bytes_per_item, size_t at) {
  // Every item takes at least min_bytes_per_item bytes, so a count the rest of the input cannot
  // hold is a lie: reject it before anyone sizes an allocation by it.
  if (count > remaining() / min_bytes_per_item) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("count %d needs at least %d bytes but only %d are left", count,
                                  count > std::numeric_limits<uint64_t>::max() / min_bytes_per_item
                                      ? std::numeric_limits<uint64_t>::max()
                                      : count * min_bytes_per_item,
                                  remaining()));
  }
  if (count > limits_.max_count) {
    return FailAt(at, kExhausted,
                  absl::StrFormat("count %d exceeds max_count %d", count, limits_.max_count));
  }
  total_items_ += count;
  if (total_items_ > limits_.max_total_items) {
    return FailAt(at, kExhausted,
                  absl::StrFormat("more than max_total_items %d items in the input",
                                  limits_.max_total_items));
  }
  return true;
}

bool Reader::ReadCount(uint64_t min_bytes_per_item, uint64_t* count) {
  const size_t at = offset();
  return ReadVarint(count) && CheckCount(*count, min_bytes_per_item, at);
}

bool Reader::ReadStringBody(std::string_view* v, uint64_t len, size_t at) {
  if (len > remaining()) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("string length %d runs past the end of the input (%d bytes "
                                  "left)",
                                  len, remaining()));
  }
  size_t bad;
  if (ABSL_PREDICT_FALSE(!ValidUtf8(cur_, len, &bad))) {
    return FailAt(offset() + bad, kDataLoss, "invalid UTF-8 in string");
  }
  *v = std::string_view(reinterpret_cast<const char*>(cur_), len);
  cur_ += len;
  return true;
}

bool Reader::ReadName(std::string_view* name, std::string_view what) {
  if (ABSL_PREDICT_FALSE(cur_ == end_)) return FailTruncated(what);
  const size_t at = offset();
  const size_t len = *cur_;
  if (ABSL_PREDICT_FALSE(len >= remaining())) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("%s length %d runs past the end of the input (%d bytes left)",
                                  what, len, remaining() - 1));
  }
  size_t bad;
  if (ABSL_PREDICT_FALSE(!ValidUtf8(cur_ + 1, len, &bad))) {
    return FailAt(at + 1 + bad, kDataLoss, Cat("invalid UTF-8 in ", what));
  }
  *name = std::string_view(reinterpret_cast<const char*>(cur_ + 1), len);
  cur_ += 1 + len;
  return true;
}

// --- Peeking ---------------------------------------------------------------------------------

bool Reader::TagKind(uint8_t tag, const uint8_t* after, Kind* kind) {
  if (tag >= kFixIntBase) {
    *kind = Kind::kInt;
  } else if (tag >= kFixMapBase) {
    *kind = Kind::kMap;
  } else if (tag >= kFixShapeRefBase) {
    const uint32_t index = tag - kFixShapeRefBase;
    if (index >= shapes_.size()) return ResolveShapeRef(index, offset(), nullptr);
    *kind = shapes_[index].header.kind;
  } else if (tag >= kFixStructBase) {
    *kind = Kind::kStruct;
  } else if (tag >= kFixListBase) {
    *kind = Kind::kList;
  } else if (tag >= kFixStringBase) {
    *kind = Kind::kString;
  } else {
    switch (tag) {
      case kTagUnit:
        *kind = Kind::kUnit;
        break;
      case kTagFalse:
      case kTagTrue:
        *kind = Kind::kBool;
        break;
      case kTagInt:
        *kind = Kind::kInt;
        break;
      case kTagUint:
        *kind = Kind::kUint;
        break;
      case kTagFloat:
        *kind = Kind::kFloat;
        break;
      case kTagString:
        *kind = Kind::kString;
        break;
      case kTagBinary:
        *kind = Kind::kBinary;
        break;
      case kTagAtom:
        *kind = Kind::kAtom;
        break;
      case kTagList:
      case kTagIntArray:
      case kTagUintArray:
      case kTagFloatArray:
        *kind = Kind::kList;
        break;
      case kTagTuple:
        *kind = Kind::kTuple;
        break;
      case kTagMap:
        *kind = Kind::kMap;
        break;
      case kTagSet:
        *kind = Kind::kSet;
        break;
      case kTagStruct:
        *kind = Kind::kStruct;
        break;
      case kTagVariant:
        *kind = Kind::kVariant;
        break;
      case kTagShapeRef: {
        uint64_t index = 0;
        VarintError error = VarintError::kNone;
        if (GetVarint(after, end_, &index, &error) == nullptr) {
          return Fail(kDataLoss, "malformed shape reference index");
        }
        if (index >= shapes_.size()) return ResolveShapeRef(index, offset(), nullptr);
        *kind = shapes_[index].header.kind;
        break;
      }
      case kTagNone:
      case kTagSome:
        *kind = Kind::kOptional;
        break;
      case kTagOk:
      case kTagError:
        *kind = Kind::kResult;
        break;
      case kTagPid:
        *kind = Kind::kPid;
        break;
      case kTagReference:
        *kind = Kind::kReference;
        break;
      case kTagNode:
        *kind = Kind::kNode;
        break;
      default:
        return FailBadTag(tag, offset());
    }
  }
  return true;
}

bool Reader::PeekKind(Kind* kind) {
  if (!ok()) return false;
  if (cur_ == end_) return FailTruncated("a value");
  return TagKind(*cur_, cur_ + 1, kind);
}

bool Reader::PeekStructName(std::string_view* type_name, std::string_view* alternative) {
  // Reading the header registers the shape; rewinding after that would register it twice, so
  // peek by reading and then restoring both the cursor and the table.
  const uint8_t* saved_cur = cur_;
  const size_t saved_shapes = shapes_.size();
  const uint32_t saved_depth = depth_;
  const uint64_t saved_items = total_items_;
  StructHeader h;
  if (!ReadStructHeader(&h)) return false;
  *type_name = h.type_name;
  *alternative = h.alternative;
  cur_ = saved_cur;
  shapes_.resize(saved_shapes);
  depth_ = saved_depth;
  total_items_ = saved_items;
  return true;
}

// --- Scalars ---------------------------------------------------------------------------------

bool Reader::ReadUnit() {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  return tag == kTagUnit || FailKind("unit", tag, at);
}

bool Reader::ReadBool(bool* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag == kTagTrue || tag == kTagFalse) {
    *v = tag == kTagTrue;
    return true;
  }
  return FailKind("bool", tag, at);
}

bool Reader::ReadInt(int64_t* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (ABSL_PREDICT_TRUE(tag >= kFixIntBase)) {
    *v = FixIntValue(tag);
    return true;
  }
  uint64_t u;
  if (tag == kTagInt) {
    if (!ReadVarint(&u)) return false;
    *v = UnZigZag(u);
    return true;
  }
  if (tag == kTagUint) {
    if (!ReadVarint(&u)) return false;
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return FailAt(at, kInvalid, absl::StrFormat("uint %d does not fit in int64", u));
    }
    *v = static_cast<int64_t>(u);
    return true;
  }
  return FailKind("int", tag, at);
}

bool Reader::ReadUint(uint64_t* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag == kTagUint) return ReadVarint(v);
  int64_t i;
  if (tag >= kFixIntBase) {
    i = FixIntValue(tag);
  } else if (tag == kTagInt) {
    uint64_t u;
    if (!ReadVarint(&u)) return false;
    i = UnZigZag(u);
  } else {
    return FailKind("uint", tag, at);
  }
  if (i < 0) return FailAt(at, kInvalid, absl::StrFormat("int %d is negative, expected uint", i));
  *v = static_cast<uint64_t>(i);
  return true;
}

bool Reader::ReadPackedFloat(double* v) {
  if (ABSL_PREDICT_FALSE(remaining() < 8)) return FailTruncated("8 bytes of float64");
  uint64_t bits = 0;
  for (int i = 0; i < 8; ++i) bits |= uint64_t{cur_[i]} << (8 * i);
  std::memcpy(v, &bits, 8);
  cur_ += 8;
  return true;
}

bool Reader::ReadFloat(double* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagFloat) return FailKind("float", tag, at);
  return ReadPackedFloat(v);
}

bool Reader::ReadStringFromTag(uint8_t tag, size_t at, std::string_view* v) {
  uint64_t len;
  if (tag >= kFixStringBase && tag < kFixListBase) {
    len = tag - kFixStringBase;
  } else if (tag == kTagString) {
    if (!ReadLength(&len, "string")) return false;
  } else {
    return FailKind("string", tag, at);
  }
  return ReadStringBody(v, len, at);
}

bool Reader::ReadString(std::string_view* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  return ReadStringFromTag(tag, at, v);
}

bool Reader::ReadBinary(std::string_view* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagBinary) return FailKind("binary", tag, at);
  return ReadBinaryBody(v);
}

bool Reader::ReadBinaryBody(std::string_view* v) {
  if (supplied_ != nullptr) [[unlikely]] {
    const uint8_t* header = cur_;
    uint64_t len;
    if (ReadVarint(&len) && offset() == supplied_at_ && len == supplied_->size()) {
      *v = *supplied_;  // its bytes are not in the input
      return true;
    }
    if (!ok()) return false;
    cur_ = header;
  }
  uint64_t len;
  if (!ReadLength(&len, "binary")) return false;
  *v = std::string_view(reinterpret_cast<const char*>(cur_), len);
  cur_ += len;
  return true;
}

bool Reader::ReadOwnedBinary(std::string* out) {
  std::string_view v;
  if (!ReadBinary(&v)) return false;
  if (supplied_ != nullptr && v.data() == supplied_->data() && !v.empty()) {
    *out = std::move(*supplied_);
    supplied_ = nullptr;  // taken: nothing else may view it
    return true;
  }
  out->assign(v.data(), v.size());
  return true;
}

bool Reader::ReadAtom(std::string_view* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagAtom) return FailKind("atom", tag, at);
  return ReadName(v, "atom");
}

bool Reader::ReadNode(std::string_view* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagNode) return FailKind("node", tag, at);
  return ReadName(v, "node name");
}

bool Reader::ReadPidBody(PidView* v) {
  if (!ReadName(&v->node, "pid node name")) return false;
  const size_t at = offset();
  uint64_t creation, shard;
  if (!ReadVarint(&creation) || !ReadVarint(&shard) || !ReadVarint(&v->serial)) return false;
  if (creation > UINT32_MAX || shard > UINT32_MAX) {
    return FailAt(at, kDataLoss, "pid creation or shard does not fit in 32 bits");
  }
  v->creation = static_cast<uint32_t>(creation);
  v->shard = static_cast<uint32_t>(shard);
  return true;
}

bool Reader::ReadPid(PidView* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagPid) return FailKind("pid", tag, at);
  return ReadPidBody(v);
}

bool Reader::ReadReferenceBody(ReferenceView* v) {
  if (!ReadName(&v->node, "reference node name")) return false;
  size_t at = offset();
  uint64_t creation;
  if (!ReadVarint(&creation)) return false;
  if (creation > UINT32_MAX) {
    return FailAt(at, kDataLoss, "reference creation does not fit in 32 bits");
  }
  v->creation = static_cast<uint32_t>(creation);
  if (cur_ == end_) return FailTruncated("reference word count");
  at = offset();
  const size_t n = *cur_++;
  if (n > kMaxReferenceWords) {
    return FailAt(
        at, kDataLoss,
        absl::StrFormat("reference has %d id words (0..%d allowed)", n, kMaxReferenceWords));
  }
  v->words.resize(n);
  for (size_t i = 0; i < n; ++i) {
    if (!ReadVarint(&v->words[i])) return false;
  }
  return true;
}

bool Reader::ReadReference(ReferenceView* v) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagReference) return FailKind("reference", tag, at);
  return ReadReferenceBody(v);
}

// --- Containers ------------------------------------------------------------------------------

bool Reader::ListFromTag(uint8_t tag, size_t at, uint64_t* count, ListForm* form) {
  if (tag >= kFixListBase && tag < kFixStructBase) {
    *form = ListForm::kValues;
    *count = tag - kFixListBase;
    if (!CheckCount(*count, 1, at)) return false;
  } else {
    uint64_t min_bytes = 1;
    switch (tag) {
      case kTagList:
        *form = ListForm::kValues;
        break;
      case kTagIntArray:
        *form = ListForm::kInts;
        break;
      case kTagUintArray:
        *form = ListForm::kUints;
        break;
      case kTagFloatArray:
        *form = ListForm::kFloats;
        min_bytes = 8;
        break;
      default:
        return FailKind("list", tag, at);
    }
    if (!ReadCount(min_bytes, count)) return false;
  }
  return Enter(at);
}

bool Reader::ReadListHeader(uint64_t* count, ListForm* form) {
  const size_t at = offset();
  uint8_t tag = 0;
  return ReadTag(&tag) && ListFromTag(tag, at, count, form);
}

bool Reader::ReadTupleHeader(uint64_t* count) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagTuple) return FailKind("tuple", tag, at);
  return ReadCount(1, count) && Enter(at);
}

bool Reader::ReadSetHeader(uint64_t* count) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag != kTagSet) return FailKind("set", tag, at);
  return ReadCount(1, count) && Enter(at);
}

bool Reader::ReadMapHeader(uint64_t* count) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag >= kFixMapBase && tag < kFixIntBase) {
    *count = tag - kFixMapBase;
    if (!CheckCount(*count, 2, at)) return false;
  } else if (tag == kTagMap) {
    if (!ReadCount(2, count)) return false;
  } else {
    return FailKind("map", tag, at);
  }
  return Enter(at);
}

bool Reader::ReadOptionalHeader(bool* has_value) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag == kTagNone) {
    *has_value = false;
    return true;
  }
  if (tag == kTagSome) {
    *has_value = true;
    return Enter(at);
  }
  return FailKind("optional", tag, at);
}

bool Reader::ReadErrorBody(uint32_t* code, std::string_view* message) {
  const size_t at = offset();
  uint64_t c;
  if (!ReadVarint(&c)) return false;
  if (c == 0 || c > UINT32_MAX) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("error result code %d (must be 1..2^32-1; 0 is OK)", c));
  }
  *code = static_cast<uint32_t>(c);
  uint64_t len;
  return ReadLength(&len, "error message") && ReadStringBody(message, len, offset());
}

bool Reader::ReadResultHeader(bool* is_ok, uint32_t* code, std::string_view* message) {
  const size_t at = offset();
  uint8_t tag = 0;
  if (!ReadTag(&tag)) return false;
  if (tag == kTagOk) {
    *is_ok = true;
    return Enter(at);
  }
  if (tag == kTagError) {
    *is_ok = false;
    return ReadErrorBody(code, message);
  }
  return FailKind("result", tag, at);
}

bool Reader::ResolveShapeRef(uint64_t index, size_t at, StructHeader* header) {
  if (index >= shapes_.size()) {
    return FailAt(at, kDataLoss,
                  absl::StrFormat("shape reference %d, but only %d shapes are defined", index,
                                  shapes_.size()));
  }
  if (header == nullptr) return true;
  *header = shapes_[index].header;
  header->shape = static_cast<uint32_t>(index);
  return CheckCount(header->count, 1, at);
}

// Struct headers this thread read and checked, kept byte for byte: a stream of one message type
// repeats its header in every term, and one that matches a kept one needs no name parsing,
// UTF-8 check, duplicate check or name comparison again. Small and per thread (every shard
// decodes on its own thread), replaced round-robin.
struct Reader::HeaderMemo {
  static constexpr size_t kMaxBytes = 160;
  uint8_t tag = 0;
  uint16_t size = 0;         // 0: empty
  uint16_t count_begin = 0;  // where the count's varint starts (a fixed struct's: 0, in its tag)
  uint16_t count_end = 0;
  uint32_t count = 0;
  uint64_t generation = 0;
  const void* matched = nullptr;  // the C++ type these names were matched against, in order
  uint8_t bytes[kMaxBytes];
};

struct Reader::HeaderMemos {
  static constexpr size_t kEntries = 4;
  HeaderMemo entries[kEntries];
  size_t next = 0;
  uint64_t generation = 0;
};

Reader::HeaderMemos& Reader::Memos() {
  thread_local HeaderMemos memos;
  return memos;
}

bool Reader::ReadMemoizedStructBody(uint8_t tag, size_t at, StructHeader* header) {
  const uint8_t* start = cur_;
  const size_t left = remaining();
  for (HeaderMemo& m : Memos().entries) {
    if (m.size == 0 || m.tag != tag || m.size > left || std::memcmp(m.bytes, start, m.size) != 0) {
      continue;
    }
    header->kind = tag == kTagVariant ? Kind::kVariant : Kind::kStruct;
    // The same bytes parse the same way: names at fixed places, already checked.
    const uint8_t* p = start;
    header->type_name = std::string_view(reinterpret_cast<const char*>(p + 1), p[0]);
    p += 1 + p[0];
    header->alternative = {};
    if (tag == kTagVariant) {
      header->alternative = std::string_view(reinterpret_cast<const char*>(p + 1), p[0]);
    }
    // The count is checked and charged to the limits as when it is read.
    const size_t count_at = m.count_begin == 0 ? at : offset() + m.count_begin;
    cur_ = start + m.count_end;
    if (!CheckCount(m.count, 2, count_at)) return false;
    header->count = m.count;
    header->names = cur_;
    cur_ = start + m.size;
    if (shapes_.size() < kMaxShapes) {
      header->shape = static_cast<uint32_t>(shapes_.size());
      shapes_.push_back(Shape{*header, m.matched, &m, m.generation});
    } else {
      header->shape = StructHeader::kUnnumbered;
    }
    return true;
  }
  return false;
}

void Reader::MemoizeStructBody(uint8_t tag, const uint8_t* start, const StructHeader& header,
                               const uint8_t* count_begin, const uint8_t* count_end) {
  const size_t size = static_cast<size_t>(cur_ - start);
  if (size > HeaderMemo::kMaxBytes) return;
  HeaderMemos& memos = Memos();
  HeaderMemo& m = memos.entries[memos.next];
  memos.next = (memos.next + 1) % HeaderMemos::kEntries;
  m.tag = tag;
  m.size = static_cast<uint16_t>(size);
  m.count_begin = count_begin == nullptr ? 0 : static_cast<uint16_t>(count_begin - start);
  m.count_end = static_cast<uint16_t>(count_end - start);
  m.count = header.count;
  m.generation = ++memos.generation;
  m.matched = nullptr;
  std::memcpy(m.bytes, start, size);
  if (header.shape != StructHeader::kUnnumbered) {
    shapes_[header.shape].memo = &m;
    shapes_[header.shape].memo_generation = m.generation;
  }
}

void Reader::RememberMatch(const Shape& shape, const void* key) {
  if (shape.defined != nullptr) {
    shape.defined->matched_ = key;
    return;
  }
  // Only if the entry still holds these bytes (it may have been replaced since).
  if (shape.memo->generation == shape.memo_generation) shape.memo->matched = key;
}

void Reader::UseDefinedShape(DefinedShape* shape) {
  // Filled in place from the shape's own copy: a header built in a local first is stored in
  // pieces and read back whole, which stalls the load on every message.
  Shape& s = shapes_.emplace_back();
  s.header = shape->header_;
  s.matched = shape->matched_;
  s.defined = shape;
}

absl::StatusOr<std::unique_ptr<DefinedShape>> DefinedShape::Parse(ByteSpan header) {
  if (header.size() > kMaxBytes) {
    return absl::DataLossError(
        absl::StrFormat("stf: a defined shape of %d bytes is over the %d a header can take",
                        header.size(), kMaxBytes));
  }
  const uint8_t tag = header.empty() ? 0 : header[0];
  const bool definition =
      (tag >= kFixStructBase && tag < kFixShapeRefBase) || tag == kTagStruct || tag == kTagVariant;
  if (!definition) {
    return absl::DataLossError("stf: a defined shape must be a struct or variant definition");
  }
  // A header announces values that follow it in each term, and the reader checks that they could
  // fit in its input: room for them, never read, lets it check the header alone.
  std::string padded(reinterpret_cast<const char*>(header.data()), header.size());
  padded.append(2 * header.size(), '\0');
  Reader r(ByteSpan(reinterpret_cast<const uint8_t*>(padded.data()), padded.size()));
  StructHeader parsed;
  const bool read = r.ReadStructHeader(&parsed);
  if (r.offset() > header.size()) {  // it read on into the room
    return absl::DataLossError(absl::StrFormat(
        "stf: a defined shape of %d bytes ends before its header does", header.size()));
  }
  if (!read) return r.status();
  if (r.offset() != header.size()) {
    return absl::DataLossError(absl::StrFormat(
        "stf: a defined shape of %d bytes has bytes after its header", header.size()));
  }
  // Kept in storage of its own size, the views moved to it.
  std::unique_ptr<DefinedShape> shape(new DefinedShape());
  shape->bytes_.assign(padded.data(), header.size());
  auto moved = [&](const char* p) { return shape->bytes_.data() + (p - padded.data()); };
  shape->header_ = parsed;
  shape->header_.type_name =
      std::string_view(moved(parsed.type_name.data()), parsed.type_name.size());
  if (parsed.alternative.data() != nullptr) {  // variants only
    shape->header_.alternative =
        std::string_view(moved(parsed.alternative.data()), parsed.alternative.size());
  }
  shape->header_.names =
      reinterpret_cast<const uint8_t*>(moved(reinterpret_cast<const char*>(parsed.names)));
  shape->header_.shape = 0;  // its number in every term read with it
  return shape;
}

bool Reader::ReadStructBody(uint8_t tag, size_t at, StructHeader* header) {
  if (ReadMemoizedStructBody(tag, at, header)) return true;
  if (!ok()) return false;
  const uint8_t* start = cur_;
  header->kind = tag == kTagVariant ? Kind::kVariant : Kind::kStruct;
  if (!ReadName(&header->type_name, "type name")) return false;
  header->alternative = {};
  if (tag == kTagVariant && !ReadName(&header->alternative, "alternative name")) return false;
  uint64_t count;
  const uint8_t* count_begin = nullptr;
  if (tag == kTagStruct || tag == kTagVariant) {
    count_begin = cur_;
    // Each field is at least a one-byte name and a one-byte value.
    if (!ReadCount(2, &count)) return false;
  } else {
    count = tag - kFixStructBase;
    if (!CheckCount(count, 2, at)) return false;
  }
  header->count = static_cast<uint32_t>(count);
  header->names = cur_;
  const uint8_t* count_end = cur_;
  absl::InlinedVector<std::string_view, 16> names;
  names.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!ReadName(&names[i], "field name")) return false;
  }
  bool duplicate = false;
  if (count <= 16) {
    for (size_t i = 1; i < count && !duplicate; ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (names[i] == names[j]) {
          duplicate = true;
          break;
        }
      }
    }
  } else {
    std::sort(names.begin(), names.end());
    duplicate = std::adjacent_find(names.begin(), names.end()) != names.end();
  }
  if (duplicate) {
    return FailAt(at, kDataLoss,
                  Cat("struct '", header->type_name, "' has a duplicate field name"));
  }
  if (shapes_.size() < kMaxShapes) {
    header->shape = static_cast<uint32_t>(shapes_.size());
    shapes_.push_back(Shape{*header, nullptr});
  } else {
    header->shape = StructHeader::kUnnumbered;
  }
  MemoizeStructBody(tag, start, *header, count_begin, count_end);
  return true;
}

bool Reader::StructFromTag(uint8_t tag, size_t at, StructHeader* header) {
  if (tag >= kFixShapeRefBase && tag < kFixMapBase) {
    if (!ResolveShapeRef(tag - kFixShapeRefBase, at, header)) return false;
  } else if (tag == kTagShapeRef) {
    uint64_t index;
    if (!ReadVarint(&index) || !ResolveShapeRef(index, at, header)) return false;
  } else if ((tag >= kFixStructBase && tag < kFixShapeRefBase) || tag == kTagStruct ||
             tag == kTagVariant) {
    if (!ReadStructBody(tag, at, header)) return false;
  } else {
    return FailKind("struct", tag, at);
  }
  return Enter(at);
}

bool Reader::ReadStructHeader(StructHeader* header) {
  const size_t at = offset();
  uint8_t tag = 0;
  return ReadTag(&tag) && StructFromTag(tag, at, header);
}

// --- Skipping --------------------------------------------------------------------------------

bool Reader::Skip() {
  const size_t at = offset();
  uint8_t tag = 0;
  return ReadTag(&tag) && SkipValue(tag, at);
}

bool Reader::SkipValue(uint8_t tag, size_t at) {
  if (tag >= kFixIntBase) return true;
  if (tag >= kFixStringBase && tag < kFixListBase) {
    std::string_view s;
    return ReadStringFromTag(tag, at, &s);
  }
  if ((tag >= kFixListBase && tag < kFixStructBase) || tag == kTagList || tag == kTagIntArray ||
      tag == kTagUintArray || tag == kTagFloatArray) {
    uint64_t count;
    ListForm form;
    if (!ListFromTag(tag, at, &count, &form)) return false;
    if (form == ListForm::kFloats) {
      cur_ += count * 8;  // CheckCount made sure the input holds them
    } else if (form == ListForm::kValues) {
      for (uint64_t i = 0; i < count; ++i) {
        if (!Skip()) return false;
      }
    } else {
      for (uint64_t i = 0; i < count; ++i) {
        uint64_t u;
        if (!ReadVarint(&u)) return false;
      }
    }
    Leave();
    return true;
  }
  if ((tag >= kFixStructBase && tag < kFixMapBase) || tag == kTagStruct || tag == kTagVariant ||
      tag == kTagShapeRef) {
    StructHeader h;
    if (!StructFromTag(tag, at, &h)) return false;
    for (uint32_t i = 0; i < h.count; ++i) {
      if (!Skip()) return false;
    }
    Leave();
    return true;
  }
  if ((tag >= kFixMapBase && tag < kFixIntBase) || tag == kTagMap) {
    uint64_t count;
    if (tag == kTagMap) {
      if (!ReadCount(2, &count)) return false;
    } else {
      count = tag - kFixMapBase;
      if (!CheckCount(count, 2, at)) return false;
    }
    if (!Enter(at)) return false;
    for (uint64_t i = 0; i < count; ++i) {
      if (!Skip() || !Skip()) return false;
    }
    Leave();
    return true;
  }
  switch (tag) {
    case kTagUnit:
    case kTagFalse:
    case kTagTrue:
    case kTagNone:
      return true;
    case kTagInt:
    case kTagUint: {
      uint64_t u;
      return ReadVarint(&u);
    }
    case kTagFloat: {
      double d;
      return ReadPackedFloat(&d);
    }
    case kTagString: {
      std::string_view s;
      return ReadStringFromTag(tag, at, &s);
    }
    case kTagBinary: {
      std::string_view bytes;
      return ReadBinaryBody(&bytes);
    }
    case kTagAtom:
    case kTagNode: {
      std::string_view s;
      return ReadName(&s, tag == kTagAtom ? "atom" : "node name");
    }
    case kTagTuple:
    case kTagSet: {
      uint64_t count;
      if (!ReadCount(1, &count) || !Enter(at)) return false;
      for (uint64_t i = 0; i < count; ++i) {
        if (!Skip()) return false;
      }
      Leave();
      return true;
    }
    case kTagSome:
    case kTagOk:
      if (!Enter(at) || !Skip()) return false;
      Leave();
      return true;
    case kTagError: {
      uint32_t code;
      std::string_view message;
      return ReadErrorBody(&code, &message);
    }
    case kTagPid: {
      PidView p;
      return ReadPidBody(&p);
    }
    case kTagReference: {
      ReferenceView r;
      return ReadReferenceBody(&r);
    }
    default:
      return FailBadTag(tag, at);
  }
}

}  // namespace snow::wire
