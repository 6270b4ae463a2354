#include "snow/net/line_reader.h"

#include <algorithm>
#include <cstring>

namespace snow::net_internal {
namespace {

// The buffer's first size; it doubles as long lines need, up to the reader's limit.
constexpr size_t kInitialBytes = 4096;
constexpr size_t kMaxLineBytes = size_t{1} << 30;

}  // namespace

LineBuffer::LineBuffer(size_t max_line_bytes)
    : max_line_bytes_(std::min(max_line_bytes, kMaxLineBytes)),
      // A line of max_line_bytes and its "\r\n" fit; a smaller buffer would only mean more reads.
      limit_(std::max(max_line_bytes_ + 2, kInitialBytes)) {}

absl::StatusOr<bool> LineBuffer::TakeLine(std::string* line) {
  if (!failed_.ok()) return failed_;
  if (begin_ == end_) return false;
  char* data = data_.get();
  const void* found = std::memchr(data + scanned_, '\n', end_ - scanned_);
  if (found == nullptr) {
    scanned_ = end_;
    // Without its "\n", a line of max_line_bytes may hold one byte more: the '\r'.
    size_t pending = end_ - begin_;
    if (pending > max_line_bytes_ + 1 ||
        (pending == max_line_bytes_ + 1 && data[end_ - 1] != '\r')) {
      return TooLong();
    }
    return false;
  }
  size_t newline = static_cast<size_t>(static_cast<const char*>(found) - data);
  size_t length = newline - begin_;
  if (length > 0 && data[newline - 1] == '\r') --length;
  if (length > max_line_bytes_) return TooLong();
  line->assign(data + begin_, length);
  begin_ = scanned_ = newline + 1;
  if (begin_ == end_) begin_ = scanned_ = end_ = 0;
  return true;
}

absl::StatusOr<std::string> LineBuffer::TakeLast() {
  if (!failed_.ok()) return failed_;
  if (begin_ == end_) return absl::OutOfRangeError("end of stream");
  if (end_ - begin_ > max_line_bytes_) return TooLong();
  std::string line(data_.get() + begin_, end_ - begin_);
  begin_ = scanned_ = end_ = 0;
  return line;
}

std::string LineBuffer::Take(size_t count) {
  size_t n = std::min(count, end_ - begin_);
  if (n == 0) return {};
  std::string bytes(data_.get() + begin_, n);
  begin_ += n;
  scanned_ = std::max(scanned_, begin_);
  if (begin_ == end_) begin_ = scanned_ = end_ = 0;
  return bytes;
}

std::span<char> LineBuffer::Space() {
  if (data_ == nullptr) {
    capacity_ = std::min(kInitialBytes, limit_);
    data_ = std::make_unique_for_overwrite<char[]>(capacity_);
  }
  // Less than half free: move the partial line to the front (at most once per line taken, so
  // no byte is moved twice), then grow if that did not free enough.
  if (capacity_ - end_ < capacity_ / 2 && begin_ > 0) {
    std::memmove(data_.get(), data_.get() + begin_, end_ - begin_);
    end_ -= begin_;
    scanned_ -= begin_;
    begin_ = 0;
  }
  if (capacity_ - end_ < capacity_ / 2 && capacity_ < limit_) {
    size_t capacity = std::min(capacity_ * 2, limit_);
    std::unique_ptr<char[]> data = std::make_unique_for_overwrite<char[]>(capacity);
    std::memcpy(data.get(), data_.get(), end_);
    data_ = std::move(data);
    capacity_ = capacity;
  }
  // Never empty: a full buffer at the limit holds more than max_line_bytes + 1 bytes without a
  // '\n', which TakeLine has already refused.
  return std::span<char>(data_.get() + end_, capacity_ - end_);
}

void LineBuffer::Filled(size_t n) {
  if (n == 0) ended_ = true;
  end_ += n;
}

void LineBuffer::Fail(const absl::Status& why) {
  failed_ = absl::FailedPreconditionError(absl::StrCat(
      "the line reader has lost its place in the stream after an error: ", why.message()));
  // Whatever is buffered can never be returned: give the memory back now.
  data_.reset();
  capacity_ = begin_ = scanned_ = end_ = 0;
}

absl::Status LineBuffer::TooLong() {
  absl::Status error = absl::ResourceExhaustedError(
      absl::StrCat("a line is longer than the limit of ", max_line_bytes_, " bytes"));
  Fail(error);
  return error;
}

}  // namespace snow::net_internal
