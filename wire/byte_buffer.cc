#include "snow/wire/byte_buffer.h"

#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>

namespace snow::wire {

ByteBuffer::ByteBuffer(const ByteBuffer& other) {
  if (other.size_ > 0) {
    Grow(other.size_);
    std::memcpy(data_, other.data_, other.size_);
    size_ = other.size_;
  }
}

ByteBuffer& ByteBuffer::operator=(const ByteBuffer& other) {
  if (this != &other) {
    size_ = 0;
    Append(other.view());
  }
  return *this;
}

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      capacity_(std::exchange(other.capacity_, 0)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    std::free(data_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    capacity_ = std::exchange(other.capacity_, 0);
  }
  return *this;
}

ByteBuffer::~ByteBuffer() { std::free(data_); }

void ByteBuffer::Append(ByteSpan bytes) {
  if (bytes.empty()) return;
  std::memcpy(AppendUninitialized(bytes.size()), bytes.data(), bytes.size());
}

void ByteBuffer::Grow(size_t min_capacity) {
  size_t cap = capacity_ < 64 ? 64 : capacity_ * 2;
  if (cap < min_capacity) cap = min_capacity;
  // realloc can move large buffers with mremap instead of copying them.
  void* p = std::realloc(data_, cap);
  if (p == nullptr) throw std::bad_alloc();  // same contract as operator new
  data_ = static_cast<uint8_t*>(p);
  capacity_ = cap;
}

}  // namespace snow::wire
