// wire/byte_buffer.h — ByteBuffer, the growable byte array every wire/ encoder appends to, and
// ByteSpan, the read-only view every decoder takes.
//
// A ByteBuffer is a malloc'd array with geometric growth and no zero-fill, so encoding costs one
// capacity check per primitive and no allocation per field. Keep one per connection and clear()
// it between messages: the capacity stays.
//
//   snow::wire::ByteBuffer buf;
//   buf.reserve(256);
//   absl::Status s = snow::wire::Encode(msg, buf);            // appends version byte + term
//   absl::StatusOr<Msg> back = snow::wire::Decode<Msg>(buf);  // ByteBuffer converts to ByteSpan
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/types/span.h"

namespace snow::wire {

// Read-only bytes. Decoders never keep it beyond the call unless the decoded type is a view
// (std::string_view, BinaryView, PidView), which then points into it.
using ByteSpan = absl::Span<const uint8_t>;

inline ByteSpan AsBytes(std::string_view s) {
  return ByteSpan(reinterpret_cast<const uint8_t*>(s.data()), s.size());
}
inline std::string_view AsChars(ByteSpan b) {
  return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
}

class Writer;

class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer& other);
  ByteBuffer& operator=(const ByteBuffer& other);
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ~ByteBuffer();

  const uint8_t* data() const { return data_; }
  uint8_t* data() { return data_; }
  size_t size() const { return size_; }
  size_t capacity() const { return capacity_; }
  bool empty() const { return size_ == 0; }

  // Keeps the capacity, so a reused buffer stops allocating once it has seen the largest message.
  void clear() { size_ = 0; }
  void reserve(size_t n) {
    if (n > capacity_) Grow(n);
  }
  // Shrinks to n bytes (n <= size()); used to roll back a failed encode.
  void Truncate(size_t n) {
    if (n < size_) size_ = n;
  }
  // Appends n bytes of unspecified content and returns a pointer to them.
  uint8_t* AppendUninitialized(size_t n) {
    if (capacity_ - size_ < n) Grow(size_ + n);
    uint8_t* p = data_ + size_;
    size_ += n;
    return p;
  }
  void Append(ByteSpan bytes);
  void Append(std::string_view bytes) { Append(AsBytes(bytes)); }
  void push_back(uint8_t b) { *AppendUninitialized(1) = b; }

  ByteSpan view() const { return ByteSpan(data_, size_); }
  std::string_view chars() const { return AsChars(view()); }
  std::string ToString() const { return std::string(chars()); }

 private:
  friend class Writer;
  // Grows to at least min_capacity (and at least doubles). Out of memory throws std::bad_alloc,
  // as operator new and the standard containers do.
  void Grow(size_t min_capacity);

  uint8_t* data_ = nullptr;
  size_t size_ = 0;
  size_t capacity_ = 0;
};

}  // namespace snow::wire
