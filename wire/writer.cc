#include "snow/wire/writer.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"

namespace snow::wire {
namespace {

using namespace ::snow::wire_internal;  // NOLINT: tag constants

// Names are few and short; the quadratic check is cheaper than any set for them.
bool HasDuplicate(absl::Span<const std::string_view> names) {
  if (names.size() <= 32) {
    for (size_t i = 1; i < names.size(); ++i) {
      for (size_t j = 0; j < i; ++j) {
        if (names[i] == names[j]) return true;
      }
    }
    return false;
  }
  std::vector<std::string_view> sorted(names.begin(), names.end());
  std::sort(sorted.begin(), sorted.end());
  return std::adjacent_find(sorted.begin(), sorted.end()) != sorted.end();
}

}  // namespace

void Writer::GrowFor(size_t n) {
  Commit();
  out_->Grow(out_->size_ + n);
  cur_ = out_->data_ + out_->size_;
  end_ = out_->data_ + out_->capacity_;
}

bool Writer::FailDepth() {
  --depth_;  // the level was not opened
  Fail(absl::InvalidArgumentError(
      absl::StrFormat("stf encode: nesting deeper than max_depth %d", max_depth_)));
  return false;
}

void Writer::WriteStringSlow(std::string_view s) {
  size_t bad;
  if (ABSL_PREDICT_FALSE(!ValidUtf8(s.data(), s.size(), &bad))) {
    Fail(absl::InvalidArgumentError(absl::StrFormat(
        "stf encode: string is not valid UTF-8 (byte %d); send bytes as Binary", bad)));
    return;
  }
  uint8_t* p = Ensure(1 + kMaxVarintBytes + s.size());
  if (s.size() <= kMaxFixString) {
    *p++ = static_cast<uint8_t>(kFixStringBase + s.size());
  } else {
    *p++ = kTagString;
    p = PutVarint(p, s.size());
  }
  if (!s.empty()) std::memcpy(p, s.data(), s.size());
  cur_ = p + s.size();
}

void Writer::WriteStringLossy(std::string_view s) {
  size_t bad;
  if (ValidUtf8(s.data(), s.size(), &bad)) {
    WriteString(s);
    return;
  }
  std::string fixed;
  fixed.reserve(s.size() + 8);
  while (!ValidUtf8(s.data(), s.size(), &bad)) {
    fixed.append(s.data(), bad);
    fixed.append("\xEF\xBF\xBD");  // U+FFFD REPLACEMENT CHARACTER
    s.remove_prefix(bad + 1);
  }
  fixed.append(s);
  WriteString(fixed);
}

void Writer::WriteBinary(std::string_view bytes) {
  uint8_t* p = Ensure(1 + kMaxVarintBytes + bytes.size());
  *p++ = kTagBinary;
  p = PutVarint(p, bytes.size());
  if (!bytes.empty()) std::memcpy(p, bytes.data(), bytes.size());
  cur_ = p + bytes.size();
}

void Writer::BorrowBinary(std::string_view bytes) {
  uint8_t* p = Ensure(1 + kMaxVarintBytes);
  *p++ = kTagBinary;
  cur_ = PutVarint(p, bytes.size());
  borrowed_->push_back(BorrowedBytes{static_cast<size_t>(cur_ - out_->data_), bytes});
}

void Writer::PutNameSlow(std::string_view name) {
  size_t bad;
  if (ABSL_PREDICT_FALSE(name.size() > kMaxNameBytes)) {
    Fail(absl::InvalidArgumentError(absl::StrFormat(
        "stf encode: name of %d bytes exceeds %d: %.40s...", name.size(), kMaxNameBytes, name)));
    return;
  }
  if (ABSL_PREDICT_FALSE(!ValidUtf8(name.data(), name.size(), &bad))) {
    Fail(absl::InvalidArgumentError(
        absl::StrFormat("stf encode: name is not valid UTF-8 (byte %d)", bad)));
    return;
  }
  uint8_t* p = Ensure(1 + name.size());
  *p++ = static_cast<uint8_t>(name.size());
  if (!name.empty()) std::memcpy(p, name.data(), name.size());
  cur_ = p + name.size();
}

void Writer::WritePid(const PidView& pid) {
  PutByte(kTagPid);
  PutName(pid.node);
  uint8_t* p = Ensure(3 * kMaxVarintBytes);
  p = PutVarint(p, pid.creation);
  p = PutVarint(p, pid.shard);
  cur_ = PutVarint(p, pid.serial);
}

void Writer::WriteReference(std::string_view node, uint32_t creation,
                            absl::Span<const uint64_t> words) {
  if (words.size() > kMaxReferenceWords) {
    Fail(absl::InvalidArgumentError(absl::StrFormat(
        "stf encode: a reference has 0..%d id words, not %d", kMaxReferenceWords, words.size())));
    return;
  }
  PutByte(kTagReference);
  PutName(node);
  uint8_t* p = Ensure(2 + (1 + kMaxReferenceWords) * kMaxVarintBytes);
  p = PutVarint(p, creation);
  *p++ = static_cast<uint8_t>(words.size());
  for (uint64_t w : words) p = PutVarint(p, w);
  cur_ = p;
}

void Writer::WriteError(uint32_t code, std::string_view message) {
  if (code == 0) {
    Fail(absl::InvalidArgumentError("stf encode: an error result cannot have code OK (0)"));
    return;
  }
  TagAndVarint(kTagError, code);
  // The message is a bare string body (varint length + UTF-8), no tag.
  std::string fixed;
  size_t bad;
  if (!ValidUtf8(message.data(), message.size(), &bad)) {
    while (!ValidUtf8(message.data(), message.size(), &bad)) {
      fixed.append(message.data(), bad);
      fixed.append("\xEF\xBF\xBD");
      message.remove_prefix(bad + 1);
    }
    fixed.append(message);
    message = fixed;
  }
  uint8_t* p = Ensure(kMaxVarintBytes + message.size());
  p = PutVarint(p, message.size());
  if (!message.empty()) std::memcpy(p, message.data(), message.size());
  cur_ = p + message.size();
}

bool Writer::NamesAreValid(std::string_view type_name, absl::Span<const std::string_view> names) {
  size_t bad;
  auto valid = [&bad](std::string_view n) {
    return n.size() <= kMaxNameBytes && ValidUtf8(n.data(), n.size(), &bad);
  };
  if (!valid(type_name)) return false;
  for (std::string_view n : names) {
    if (!valid(n)) return false;
  }
  return !HasDuplicate(names);
}

void Writer::PutNames(absl::Span<const std::string_view> names, NameCheck check) {
  if (check == NameCheck::kChecked) {
    for (std::string_view n : names) PutNameUnchecked(n);
    return;
  }
  for (std::string_view n : names) PutName(n);
  if (ABSL_PREDICT_FALSE(HasDuplicate(names))) {
    Fail(absl::InvalidArgumentError("stf encode: a struct has two fields with the same name"));
  }
}

void Writer::RememberShape(const void* key) {
  const uint32_t index = shapes_defined_++;
  if (key != nullptr && index < kMaxShapes && shape_cache_used_ < kShapeCacheSize) {
    shape_keys_[shape_cache_used_] = key;
    shape_indices_[shape_cache_used_] = index;
    ++shape_cache_used_;
  }
}

bool Writer::WriteShapeRef(uint32_t index) {
  if (!Enter()) return false;
  WriteShapeRefBytes(index);
  return true;
}

void Writer::WriteShapeRefBytes(uint32_t index) {
  if (index <= kMaxFixCount) {
    PutByte(static_cast<uint8_t>(kFixShapeRefBase + index));
  } else {
    TagAndVarint(kTagShapeRef, index);
  }
}

bool Writer::WriteStructHeader(const void* shape_key, std::string_view type_name,
                               absl::Span<const std::string_view> names, NameCheck check) {
  if (!Enter()) return false;
  uint32_t index;
  if (shape_key != nullptr && FindShape(shape_key, &index)) {
    WriteShapeRefBytes(index);
    return true;
  }
  const size_t begin = size();
  if (names.size() <= kMaxFixCount) {
    PutByte(static_cast<uint8_t>(kFixStructBase + names.size()));
    PutName(type_name);
  } else {
    PutByte(kTagStruct);
    PutName(type_name);
    PutRawVarint(names.size());
  }
  PutNames(names, check);
  NoteDefinition(shape_key, begin);
  RememberShape(shape_key);
  return true;
}

bool Writer::WriteVariantHeader(const void* shape_key, std::string_view type_name,
                                std::string_view alternative,
                                absl::Span<const std::string_view> names, NameCheck check) {
  if (!Enter()) return false;
  uint32_t index;
  if (shape_key != nullptr && FindShape(shape_key, &index)) {
    WriteShapeRefBytes(index);
    return true;
  }
  const size_t begin = size();
  PutByte(kTagVariant);
  PutName(type_name);
  PutName(alternative);
  PutRawVarint(names.size());
  PutNames(names, check);
  NoteDefinition(shape_key, begin);
  RememberShape(shape_key);
  return true;
}

}  // namespace snow::wire
