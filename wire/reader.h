// wire/reader.h — Reader, the low-level STF decoder: a bounds-checked cursor over untrusted
// bytes with the limits of DecodeLimits, the shape table of the current term, and the first error
// (absl::Status code, byte offset, what was wrong, and the path of fields that led there).
//
// Every Read* returns false on failure and latches the error; the first error wins and later
// calls keep failing, so decoders are straight-line code ending in `return r.status()`. Nothing
// here can read out of bounds, allocate, or recurse without the depth check.
//
// Every container header (list, tuple, map, set, packed array, struct, variant, some, ok) opens a
// nesting level — failing past DecodeLimits::max_depth — and the caller calls Leave() once after
// reading its values.
//
//   snow::wire::Reader r(bytes);
//   uint64_t n;
//   snow::wire::Reader::ListForm form;
//   if (r.ReadVersion() && r.ReadListHeader(&n, &form)) {
//     for (uint64_t i = 0; i < n && r.Skip(); ++i) {}
//     r.Leave();
//   }
//   r.ExpectEnd();
//   absl::Status s = r.status();   // e.g. DATA_LOSS "stf: truncated input ... at offset 7"
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/internal/tags.h"
#include "snow/wire/internal/varint.h"
#include "snow/wire/limits.h"
#include "snow/wire/types.h"

namespace snow::wire_internal {
class TermDecoder;
}

namespace snow::wire {

// A struct or variant header, whether it was written out (a definition) or referenced by shape.
struct StructHeader {
  Kind kind = Kind::kStruct;       // kStruct or kVariant
  std::string_view type_name;      // points into the input
  std::string_view alternative;    // variants only
  uint32_t count = 0;              // number of fields (and of values that follow)
  const uint8_t* names = nullptr;  // the field names: `count` of (u8 length, UTF-8 bytes)
  uint32_t shape = 0;              // index in the term's shape table, or kUnnumbered
  static constexpr uint32_t kUnnumbered = 0xFFFFFFFF;
};

// Walks the (already validated) field names of a StructHeader.
class NameCursor {
 public:
  explicit NameCursor(const uint8_t* p) : p_(p) {}
  std::string_view Next() {
    const size_t n = *p_;
    std::string_view s(reinterpret_cast<const char*>(p_ + 1), n);
    p_ += 1 + n;
    return s;
  }

 private:
  const uint8_t* p_;
};

// A struct or variant header that two ends agreed on outside the terms that use it (dist/ defines
// one per message type and connection, so that a stream of one type does not repeat its names):
// read and checked once, then shape 0 of every term decoded with it (Reader::UseDefinedShape),
// as EncodeOptions::defined_shape makes it on the writing side.
//
//   absl::StatusOr<std::unique_ptr<DefinedShape>> shape = DefinedShape::Parse(header_bytes);
//   Reader r(term);
//   r.UseDefinedShape(shape->get());
class DefinedShape {
 public:
  // The largest header Parse takes (a type name and 255 field names of 255 bytes, with their
  // lengths, tag and count); a struct with a larger one is written in full in every term.
  static constexpr size_t kMaxBytes = 256 * 256 + 16;
  // `header`: exactly one definition's header, from its tag through its last field name, as a
  // Writer wrote it (Writer::TopLevelDefinition). Errors: kDataLoss for anything else, and for
  // more than kMaxBytes.
  static absl::StatusOr<std::unique_ptr<DefinedShape>> Parse(ByteSpan header);

  Kind kind() const { return header_.kind; }
  std::string_view type_name() const { return header_.type_name; }
  uint32_t field_count() const { return header_.count; }

 private:
  friend class Reader;
  DefinedShape() = default;

  std::string bytes_;
  StructHeader header_;            // its views point into bytes_
  const void* matched_ = nullptr;  // the C++ type its names last matched, in order
};

class Reader {
 public:
  explicit Reader(ByteSpan input, const DecodeLimits& limits = {}, CodecContext* context = nullptr);
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // --- Position and errors -------------------------------------------------------------------
  size_t offset() const { return static_cast<size_t>(cur_ - begin_); }
  size_t remaining() const { return static_cast<size_t>(end_ - cur_); }
  bool AtEnd() const { return cur_ == end_; }
  bool ok() const { return code_ == absl::StatusCode::kOk; }
  // The first error: code, "stf: <what> at offset <n>" and, if codecs added context, the path.
  absl::Status status() const;
  // Latch an error at the current offset (or at `offset`); always returns false.
  bool Fail(absl::StatusCode code, std::string_view what) { return FailAt(offset(), code, what); }
  bool FailAt(size_t offset, absl::StatusCode code, std::string_view what);
  // Called while unwinding from a failed nested decode: ".field", "[3]" or "TypeName". Segments
  // are joined innermost last into "in Outer.inner[3].x".
  void AddContext(std::string_view segment);
  CodecContext* context() const { return context_; }

  // --- Framing of a whole term ---------------------------------------------------------------
  // Makes `shape` (which outlives the reader) shape 0 of the term, before anything is read: the
  // term's own definitions are numbered from 1. A term written with EncodeOptions::defined_shape
  // must be read so, and only such a term.
  void UseDefinedShape(DefinedShape* shape);
  bool ReadVersion();
  // Fails with kDataLoss unless all input was consumed.
  bool ExpectEnd();

  // --- Peeking -------------------------------------------------------------------------------
  // The kind of the next value, without consuming it. Fails at end of input or on a bad tag.
  bool PeekKind(Kind* kind);
  // For a next value of kind kStruct/kVariant: its type name (and alternative), not consumed.
  bool PeekStructName(std::string_view* type_name, std::string_view* alternative);

  // --- Scalars -------------------------------------------------------------------------------
  // A value of another kind is kInvalidArgument ("expected int, found string").
  bool ReadUnit();
  bool ReadBool(bool* v);
  // Accepts int, and uint up to INT64_MAX.
  bool ReadInt(int64_t* v);
  // Accepts uint, and non-negative int.
  bool ReadUint(uint64_t* v);
  bool ReadFloat(double* v);
  // Views point into the input; strings, atoms and node names are validated UTF-8.
  bool ReadString(std::string_view* v);
  bool ReadBinary(std::string_view* v);
  // A binary into a string of its own: the supplied one (below) is taken over, not copied.
  bool ReadOwnedBinary(std::string* out);
  // The bytes of the binary whose bytes would start at input offset `at` are not in the input:
  // they are `*bytes` (as many as its header says), which outlives the reader. A transport that
  // reassembled a large binary straight into its final buffer supplies it so.
  void SupplyBinary(size_t at, std::string* bytes) {
    supplied_at_ = at;
    supplied_ = bytes;
  }
  bool ReadAtom(std::string_view* v);
  bool ReadNode(std::string_view* v);
  bool ReadPid(PidView* v);
  bool ReadReference(ReferenceView* v);

  // --- Containers (each opens a level: Leave() after the values) ------------------------------
  enum class ListForm : uint8_t { kValues, kInts, kUints, kFloats };
  // A list; for the packed forms, read the items with ReadPacked*.
  bool ReadListHeader(uint64_t* count, ListForm* form);
  bool ReadPackedInt(int64_t* v) {
    uint64_t u;
    if (!ReadVarint(&u)) return false;
    *v = wire_internal::UnZigZag(u);
    return true;
  }
  bool ReadPackedUint(uint64_t* v) { return ReadVarint(v); }
  bool ReadPackedFloat(double* v);
  bool ReadTupleHeader(uint64_t* count);
  bool ReadSetHeader(uint64_t* count);
  // `count` entries follow, each a key then a value.
  bool ReadMapHeader(uint64_t* count);
  // none, or some (then one value, and a level to Leave()).
  bool ReadOptionalHeader(bool* has_value);
  // ok (then one value and a level to Leave()), or error with its code and message.
  bool ReadResultHeader(bool* is_ok, uint32_t* code, std::string_view* message);
  // A struct or variant, defined here or referenced by shape; the values follow in name order.
  bool ReadStructHeader(StructHeader* header);
  void Leave() { --depth_; }

  // Reads and fully validates one value of any kind without materialising it (unknown fields).
  bool Skip();

  // --- Low level, for packed loops and Codec specialisations ---------------------------------
  bool ReadVarint(uint64_t* v) {
    if (ABSL_PREDICT_TRUE(cur_ < end_ && *cur_ < 0x80)) {
      *v = *cur_++;
      return true;
    }
    if (ABSL_PREDICT_TRUE(end_ - cur_ >= static_cast<ptrdiff_t>(wire_internal::kMaxVarintBytes))) {
      const uint8_t* next = wire_internal::GetVarintUnchecked(cur_, v);
      if (ABSL_PREDICT_TRUE(next != nullptr)) {
        cur_ = next;
        return true;
      }
    }
    return ReadVarintSlow(v);  // near the end, or malformed: the careful path says why
  }

  // Reads the `n` items of an int or uint array, handing each raw varint to `sink(bits)`. A sink
  // returns false to refuse an item; the cursor is then left at that item (no error is latched:
  // the caller reports why with Fail). Decodes without bounds checks while 10 bytes remain.
  template <class Sink>
  bool ReadPackedVarints(uint64_t n, Sink&& sink) {
    const uint8_t* p = cur_;
    for (uint64_t i = 0; i < n; ++i) {
      const uint8_t* item = p;
      uint64_t v;
      if (ABSL_PREDICT_TRUE(end_ - p >= static_cast<ptrdiff_t>(wire_internal::kMaxVarintBytes))) {
        v = *p;
        if (v < 0x80) {
          ++p;
        } else {
          p = wire_internal::GetVarintUnchecked(p, &v);
          if (ABSL_PREDICT_FALSE(p == nullptr)) {
            cur_ = item;
            return ReadVarintSlow(&v);  // reports why
          }
        }
      } else {
        cur_ = p;
        if (!ReadVarint(&v)) return false;
        p = cur_;
      }
      if (ABSL_PREDICT_FALSE(!sink(v))) {
        cur_ = item;
        return false;
      }
    }
    cur_ = p;
    return true;
  }

  // Memo for the typed path: remembers that the shape at `index` was checked against the C++
  // type identified by `key`, so later references skip the name comparison. It outlives the term
  // for a header that the thread's header memo holds (ReadStructBody).
  bool ShapeMatches(uint32_t index, const void* key) const {
    return index < shapes_.size() && shapes_[index].matched == key;
  }
  void MarkShapeMatches(uint32_t index, const void* key) {
    if (index >= shapes_.size() || shapes_[index].matched == key) return;
    shapes_[index].matched = key;
    if (shapes_[index].memo != nullptr || shapes_[index].defined != nullptr) {
      RememberMatch(shapes_[index], key);
    }
  }

 private:
  friend class wire_internal::TermDecoder;

  struct HeaderMemo;
  struct HeaderMemos;
  static HeaderMemos& Memos();  // this thread's
  struct Shape {
    StructHeader header;
    const void* matched = nullptr;
    // The memo entry this header was read from or recorded in, and its generation then.
    HeaderMemo* memo = nullptr;
    uint64_t memo_generation = 0;
    DefinedShape* defined = nullptr;  // shape 0 of a term read with UseDefinedShape
  };
  void RememberMatch(const Shape& shape, const void* key);
  // ReadStructBody's fast path: a header byte for byte like one this thread read and checked.
  bool ReadMemoizedStructBody(uint8_t tag, size_t at, StructHeader* header);
  // `count_begin`: where the count's varint starts, nullptr for a count in the tag.
  void MemoizeStructBody(uint8_t tag, const uint8_t* start, const StructHeader& header,
                         const uint8_t* count_begin, const uint8_t* count_end);

  bool ReadVarintSlow(uint64_t* v);
  bool ReadTag(uint8_t* tag) {
    if (ABSL_PREDICT_FALSE(cur_ == end_)) return FailTruncated("a value");
    *tag = *cur_++;
    return true;
  }
  bool FailTruncated(std::string_view what);
  bool FailKind(std::string_view expected, uint8_t tag, size_t at);
  bool FailBadTag(uint8_t tag, size_t at);
  // Length of a string or binary: fits in the input and max_string_bytes.
  bool ReadLength(uint64_t* len, std::string_view what);
  // Count of a container: fits in the input (at least min_bytes per item) and the limits.
  bool CheckCount(uint64_t count, uint64_t min_bytes_per_item, size_t at);
  bool ReadName(std::string_view* name, std::string_view what);
  bool ReadStringBody(std::string_view* v, uint64_t len, size_t at);
  // A binary's length and bytes, after its tag: from the input, or the supplied bytes.
  bool ReadBinaryBody(std::string_view* v);
  bool ReadStructBody(uint8_t tag, size_t at, StructHeader* header);
  bool ReadErrorBody(uint32_t* code, std::string_view* message);
  bool ReadPidBody(PidView* v);
  bool ReadReferenceBody(ReferenceView* v);
  bool ResolveShapeRef(uint64_t index, size_t at, StructHeader* header);
  // Opens a level for the container whose tag is at offset `at`.
  bool Enter(size_t at) {
    if (ABSL_PREDICT_FALSE(++depth_ > max_depth_)) return FailDepth(at);
    return true;
  }
  bool FailDepth(size_t at);
  bool SkipValue(uint8_t tag, size_t at);
  // Header readers for a tag already consumed at offset `at` (shared by Skip and TermDecoder).
  bool ListFromTag(uint8_t tag, size_t at, uint64_t* count, ListForm* form);
  bool StructFromTag(uint8_t tag, size_t at, StructHeader* header);
  bool ReadStringFromTag(uint8_t tag, size_t at, std::string_view* v);
  bool ReadCount(uint64_t min_bytes_per_item, uint64_t* count);
  // Kind of a tag (shape references resolved); false on reserved tags or unknown shapes.
  bool TagKind(uint8_t tag, const uint8_t* after, Kind* kind);

  const uint8_t* begin_;
  const uint8_t* cur_;
  const uint8_t* end_;
  std::string* supplied_ = nullptr;  // SupplyBinary
  size_t supplied_at_ = 0;
  uint32_t depth_ = 0;
  uint32_t max_depth_;
  uint64_t total_items_ = 0;
  DecodeLimits limits_;
  CodecContext* context_;
  absl::InlinedVector<Shape, 4> shapes_;

  absl::StatusCode code_ = absl::StatusCode::kOk;
  size_t error_offset_ = 0;
  std::string error_what_;
  std::vector<std::string> error_path_;  // innermost first
};

}  // namespace snow::wire
