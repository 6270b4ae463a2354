// wire/writer.h — Writer, the low-level STF encoder: one call per value or container header,
// appending to a ByteBuffer. The typed codecs (codec.h) and the Term encoder (term.h) are built
// on it; a Codec specialisation for a foreign type calls it directly.
//
// Scalar writes never fail one by one: the first problem (invalid UTF-8, a name over 255 bytes, a
// codec's own Fail) is latched and reported by Finish(), so encoders stay straight-line code.
// Containers are written header first: the caller states the count, then writes exactly that
// many values. Each container header opens a nesting level and returns false — write nothing
// more for it — once EncodeOptions::max_depth is exceeded; after its values, call Leave().
//
//   snow::wire::ByteBuffer buf;
//   snow::wire::Writer w(buf);
//   w.WriteVersion();
//   if (w.WriteListHeader(2)) {
//     w.WriteInt(-1);
//     w.WriteString("hi");
//     w.Leave();
//   }
//   absl::Status s = w.Finish();   // buf = 01 42 9f 22 68 69
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

#include "absl/base/optimization.h"
#include "absl/status/status.h"
#include "absl/types/span.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/internal/tags.h"
#include "snow/wire/internal/utf8.h"
#include "snow/wire/internal/varint.h"
#include "snow/wire/limits.h"
#include "snow/wire/types.h"

namespace snow::wire {

class Writer {
 public:
  explicit Writer(ByteBuffer& out, const EncodeOptions& options = {})
      : out_(&out),
        cur_(out.data_ + out.size_),
        end_(out.data_ + out.capacity_),
        max_depth_(options.max_depth > kHardMaxDepth ? kHardMaxDepth : options.max_depth),
        context_(options.context),
        borrowed_(options.borrowed),
        borrow_from_bytes_(options.borrow_from_bytes) {
    if (options.defined_shape != nullptr) RememberShape(options.defined_shape);
  }
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;
  // Commits what was written to the buffer's size (Finish does too).
  ~Writer() { Commit(); }

  // Commits and returns the first error, if any. On error the bytes are garbage: the typed entry
  // points (Encode, EncodeTerm) truncate the buffer back.
  absl::Status Finish() {
    Commit();
    return status_;
  }
  bool ok() const { return status_.ok(); }
  // Latches `status` (the first one wins). Codec specialisations call this to refuse a value.
  void Fail(absl::Status status) {
    if (status_.ok()) status_ = std::move(status);
  }
  CodecContext* context() const { return context_; }

  void WriteVersion() {
    *Ensure(1) = wire_internal::kVersion1;
    ++cur_;
  }

  void WriteUnit() { PutByte(wire_internal::kTagUnit); }
  void WriteBool(bool v) { PutByte(v ? wire_internal::kTagTrue : wire_internal::kTagFalse); }
  void WriteInt(int64_t v) {
    uint8_t* p = Ensure(1 + wire_internal::kMaxVarintBytes);
    if (v >= wire_internal::kMinFixInt && v <= wire_internal::kMaxFixInt) {
      *p = wire_internal::FixIntTag(v);
      cur_ = p + 1;
      return;
    }
    *p = wire_internal::kTagInt;
    cur_ = wire_internal::PutVarint(p + 1, wire_internal::ZigZag(v));
  }
  void WriteUint(uint64_t v) {
    uint8_t* p = Ensure(1 + wire_internal::kMaxVarintBytes);
    *p = wire_internal::kTagUint;
    cur_ = wire_internal::PutVarint(p + 1, v);
  }
  void WriteFloat(double v) {
    uint8_t* p = Ensure(9);
    *p = wire_internal::kTagFloat;
    PutFloatBits(p + 1, v);
    cur_ = p + 9;
  }
  // UTF-8 text; invalid UTF-8 fails the encode (the peer would reject it anyway).
  void WriteString(std::string_view s) {
    size_t ascii_prefix;
    if (ABSL_PREDICT_TRUE(s.size() <= wire_internal::kMaxFixString &&
                          wire_internal::IsAscii(AsBytePtr(s), s.size(), &ascii_prefix))) {
      uint8_t* p = Ensure(1 + wire_internal::kMaxFixString);
      *p = static_cast<uint8_t>(wire_internal::kFixStringBase + s.size());
      wire_internal::CopySmall(p + 1, s.data(), s.size());
      cur_ = p + 1 + s.size();
      return;
    }
    WriteStringSlow(s);
  }
  // Like WriteString, but replaces invalid UTF-8 with U+FFFD instead of failing: for text the
  // sender does not control, such as an absl::Status message that must always be sendable.
  void WriteStringLossy(std::string_view s);
  void WriteBinary(std::string_view bytes);
  // The bytes of a Binary that is part of the value being encoded: borrowed, not copied, when
  // EncodeOptions::borrowed asks for it (they must then live until the encoding is used).
  void WriteOwnedBinary(std::string_view bytes) {
    if (ABSL_PREDICT_FALSE(borrowed_ != nullptr && bytes.size() >= borrow_from_bytes_)) {
      BorrowBinary(bytes);
      return;
    }
    WriteBinary(bytes);
  }
  void WriteAtom(std::string_view name) { TaggedName(wire_internal::kTagAtom, name); }
  void WriteNode(std::string_view name) { TaggedName(wire_internal::kTagNode, name); }
  void WritePid(const PidView& pid);
  void WritePid(const Pid& pid) {
    WritePid(PidView{pid.node, pid.creation, pid.shard, pid.serial});
  }
  void WriteReference(std::string_view node, uint32_t creation, absl::Span<const uint64_t> words);

  // Container headers: exactly `count` values (map: `count` key, value pairs) must follow, then
  // Leave(). They return false, having written nothing, past max_depth.
  bool WriteListHeader(uint64_t count) {
    if (!Enter()) return false;
    CountHeader(wire_internal::kTagList, wire_internal::kFixListBase, count);
    return true;
  }
  bool WriteMapHeader(uint64_t count) {
    if (!Enter()) return false;
    CountHeader(wire_internal::kTagMap, wire_internal::kFixMapBase, count);
    return true;
  }
  bool WriteTupleHeader(uint64_t count) { return TaggedCount(wire_internal::kTagTuple, count); }
  bool WriteSetHeader(uint64_t count) { return TaggedCount(wire_internal::kTagSet, count); }
  void WriteNone() { PutByte(wire_internal::kTagNone); }
  // One value follows, then Leave().
  bool WriteSomeHeader() { return TaggedCount(wire_internal::kTagSome, kNoCount); }
  bool WriteOkHeader() { return TaggedCount(wire_internal::kTagOk, kNoCount); }
  // An error result: code is an absl::StatusCode (1..16 canonical). The message is written with
  // WriteStringLossy's rules.
  void WriteError(uint32_t code, std::string_view message);

  // Packed arrays (STF.md §6.1): the header, then exactly `count` raw items. Only for count >= 1;
  // an empty list is always WriteListHeader(0).
  bool WriteIntArrayHeader(uint64_t count) {
    return TaggedCount(wire_internal::kTagIntArray, count);
  }
  bool WriteUintArrayHeader(uint64_t count) {
    return TaggedCount(wire_internal::kTagUintArray, count);
  }
  bool WriteFloatArrayHeader(uint64_t count) {
    return TaggedCount(wire_internal::kTagFloatArray, count);
  }
  void WriteIntArrayItem(int64_t v) { PutRawVarint(wire_internal::ZigZag(v)); }
  void WriteUintArrayItem(uint64_t v) { PutRawVarint(v); }
  void WriteFloatArrayItem(double v) {
    uint8_t* p = Ensure(8);
    PutFloatBits(p, v);
    cur_ = p + 8;
  }
  // Makes room for `n` more bytes at once, so that a loop of array items checks capacity once.
  void Reserve(size_t n) { Ensure(n); }
  // Writes the items of an int or uint array (integral or enum T) from contiguous memory with one
  // capacity check per chunk instead of one per item.
  template <class T>
  void WriteIntArrayItems(const T* items, size_t n) {
    constexpr size_t kChunk = 4096;
    while (n > 0) {
      const size_t k = n < kChunk ? n : kChunk;
      uint8_t* p = Ensure(k * wire_internal::kMaxVarintBytes);
      for (size_t i = 0; i < k; ++i) p = wire_internal::PutVarint(p, ArrayItemBits(items[i]));
      cur_ = p;
      items += k;
      n -= k;
    }
  }
  template <class T>
  void WriteFloatArrayItems(const T* items, size_t n) {
    uint8_t* p = Ensure(n * 8);
    if constexpr (std::is_same_v<T, double> && std::endian::native == std::endian::little) {
      std::memcpy(p, items, n * 8);
    } else {
      for (size_t i = 0; i < n; ++i) PutFloatBits(p + 8 * i, static_cast<double>(items[i]));
    }
    cur_ = p + n * 8;
  }

  // Whether the caller has already checked a header's names (valid UTF-8, at most 255 bytes,
  // distinct). The typed codecs check each C++ type's constant names once (NamesAreValid) and
  // then pass kChecked, so the per-message cost is a copy.
  enum class NameCheck : uint8_t { kNeeded, kChecked };
  static bool NamesAreValid(std::string_view type_name, absl::Span<const std::string_view> names);

  // Struct and variant headers (STF.md §6.3). `shape_key` identifies the shape (type name and
  // field names, in order) for the whole program — the typed codecs pass the address of a
  // per-type static; nullptr means "unknown, always write a definition". If this Writer has
  // already defined the shape in the current term, a shape reference is written instead. Then the
  // caller writes names.size() values, in the order of `names`.
  // Like the other container headers these open a level: Leave() after the values.
  bool WriteStructHeader(const void* shape_key, std::string_view type_name,
                         absl::Span<const std::string_view> names,
                         NameCheck check = NameCheck::kNeeded);
  bool WriteVariantHeader(const void* shape_key, std::string_view type_name,
                          std::string_view alternative, absl::Span<const std::string_view> names,
                          NameCheck check = NameCheck::kNeeded);
  // For encoders that track shapes themselves (the Term encoder keys them by content): the index
  // the next definition will get, and an explicit reference to an earlier one (opens a level).
  uint32_t next_shape_index() const { return shapes_defined_; }
  bool WriteShapeRef(uint32_t index);

  // Where this term's value was written as a struct or variant definition: its shape key and the
  // header's bytes in the buffer, [begin, end), from its tag through its last field name. What a
  // connection may agree on as a DefinedShape for the terms that follow. False when the value is
  // not a definition (another kind, or a reference to EncodeOptions::defined_shape).
  bool TopLevelDefinition(const void** shape_key, size_t* begin, size_t* end) const {
    if (top_header_end_ == 0) return false;
    *shape_key = top_shape_key_;
    *begin = top_header_begin_;
    *end = top_header_end_;
    return true;
  }

  // Closes the level the last container header opened.
  void Leave() { --depth_; }

  // Bytes written so far in this Writer's buffer (including what was there before).
  size_t size() const { return static_cast<size_t>(cur_ - out_->data_); }

 private:
  uint8_t* Ensure(size_t n) {
    if (ABSL_PREDICT_FALSE(static_cast<size_t>(end_ - cur_) < n)) GrowFor(n);
    return cur_;
  }
  void GrowFor(size_t n);
  void BorrowBinary(std::string_view bytes);
  void Commit() { out_->size_ = static_cast<size_t>(cur_ - out_->data_); }
  void PutByte(uint8_t b) {
    *Ensure(1) = b;
    ++cur_;
  }
  void PutRawVarint(uint64_t v) {
    Ensure(wire_internal::kMaxVarintBytes);
    cur_ = wire_internal::PutVarint(cur_, v);
  }
  static void PutFloatBits(uint8_t* p, double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, 8);
    for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(bits >> (8 * i));  // little-endian
  }
  void TagAndVarint(uint8_t tag, uint64_t v) {
    uint8_t* p = Ensure(1 + wire_internal::kMaxVarintBytes);
    *p = tag;
    cur_ = wire_internal::PutVarint(p + 1, v);
  }
  template <class T>
  static uint64_t ArrayItemBits(T v) {
    if constexpr (std::is_enum_v<T>) {
      return ArrayItemBits(static_cast<std::underlying_type_t<T>>(v));
    } else if constexpr (std::is_signed_v<T>) {
      return wire_internal::ZigZag(static_cast<int64_t>(v));
    } else {
      return static_cast<uint64_t>(v);
    }
  }
  static constexpr uint64_t kNoCount = ~uint64_t{0};
  bool Enter() {
    if (ABSL_PREDICT_FALSE(++depth_ > max_depth_)) return FailDepth();
    return true;
  }
  bool TaggedCount(uint8_t tag, uint64_t count) {
    if (!Enter()) return false;
    if (count == kNoCount) {
      PutByte(tag);
    } else {
      TagAndVarint(tag, count);
    }
    return true;
  }
  void WriteShapeRefBytes(uint32_t index);
  void CountHeader(uint8_t tag, uint8_t fix_base, uint64_t count) {
    if (count <= wire_internal::kMaxFixCount) {
      PutByte(static_cast<uint8_t>(fix_base + count));
    } else {
      TagAndVarint(tag, count);
    }
  }
  static const uint8_t* AsBytePtr(std::string_view s) {
    return reinterpret_cast<const uint8_t*>(s.data());
  }
  void WriteStringSlow(std::string_view s);
  // u8 length + bytes; fails on > 255 bytes or invalid UTF-8.
  void PutName(std::string_view name) {
    size_t ascii_prefix;
    if (ABSL_PREDICT_TRUE(name.size() <= 32 &&
                          wire_internal::IsAscii(AsBytePtr(name), name.size(), &ascii_prefix))) {
      PutNameUnchecked(name);
      return;
    }
    PutNameSlow(name);
  }
  void PutNameSlow(std::string_view name);
  void PutNameUnchecked(std::string_view name) {
    uint8_t* p = Ensure(1 + kMaxNameBytes);
    *p = static_cast<uint8_t>(name.size());
    if (name.size() <= 32) {
      wire_internal::CopySmall(p + 1, name.data(), name.size());
    } else {
      std::memcpy(p + 1, name.data(), name.size());
    }
    cur_ = p + 1 + name.size();
  }
  void TaggedName(uint8_t tag, std::string_view name) {
    PutByte(tag);
    PutName(name);
  }
  bool FindShape(const void* key, uint32_t* index) const {
    for (uint32_t i = 0; i < shape_cache_used_; ++i) {
      if (shape_keys_[i] == key) {
        *index = shape_indices_[i];
        return true;
      }
    }
    return false;
  }
  void RememberShape(const void* key);
  // After a definition's header written from `begin`: remembers it if it is the term's value.
  void NoteDefinition(const void* key, size_t begin) {
    if (depth_ == 1 && top_header_end_ == 0) {
      top_shape_key_ = key;
      top_header_begin_ = begin;
      top_header_end_ = size();
    }
  }
  void PutNames(absl::Span<const std::string_view> names, NameCheck check);
  bool FailDepth();

  ByteBuffer* out_;
  uint8_t* cur_;
  uint8_t* end_;
  uint32_t depth_ = 0;
  uint32_t max_depth_;
  uint32_t shapes_defined_ = 0;
  uint32_t shape_cache_used_ = 0;
  // TopLevelDefinition; end 0: none.
  const void* top_shape_key_ = nullptr;
  size_t top_header_begin_ = 0;
  size_t top_header_end_ = 0;
  CodecContext* context_;
  std::vector<BorrowedBytes>* borrowed_;
  size_t borrow_from_bytes_;
  absl::Status status_;
  // A tiny per-term cache of shapes by key: messages use a handful of struct types, and a linear
  // scan of a few pointers beats hashing. Entries are written before they are read.
  static constexpr uint32_t kShapeCacheSize = 16;
  const void* shape_keys_[kShapeCacheSize];
  uint32_t shape_indices_[kShapeCacheSize];
};

}  // namespace snow::wire
