// File: net/line_reader.h
//
// LineReader: a buffered reader for line protocols over a TcpStream or a TlsStream. ReadLine
// returns the next line without its "\n" or "\r\n"; ReadLines the next N (pipelined answers);
// ReadExactly returns a counted payload that follows a header line ("SET key 5\r\nhello").
// The reader owns the stream: replies are written through stream(). AnswerLines (at the end)
// is the whole server loop below, for a protocol that answers each line with one line.
//
//   Task<absl::Status> Connection(Self self, net::TcpStream stream) {
//     net::LineReader reader(std::move(stream));
//     for (;;) {
//       absl::StatusOr<std::string> line = co_await reader.ReadLine(absl::Minutes(5));
//       if (absl::IsOutOfRange(line.status())) break;  // the peer closed its side
//       if (!line.ok()) co_return line.status();       // too long, timed out, reset...
//       std::string reply = Answer(*line) + "\r\n";
//       absl::Status sent = co_await reader.stream().WriteAll(reply);
//       if (!sent.ok()) co_return sent;
//     }
//     absl::Status closed = co_await reader.stream().Close();
//     co_return closed;
//   }
//
// Lines: split at '\n', and a '\r' just before it is dropped as well; every other byte (NUL, a
// lone '\r', invalid UTF-8) is part of the line. A last line without "\n" is returned, as it
// is, when the stream ends; the call after it reports the end of the stream.
//
// Buffering: bytes after a line stay in the reader for the next call (many lines in one segment
// cost one read), and ReadExactly takes them first. One buffer per reader: 4 KiB at first,
// grown as a long line needs it up to max_line_bytes + 2, never more, whatever the peer sends.
// A call allocates only the string it returns (its coroutine frame comes from the shard's
// pool); the search for '\n' goes on where the last one stopped, so a line that arrives one
// byte at a time costs time linear in its length.
//
// Timeouts: ReadLine(timeout) and ReadExactly(count, timeout) bound the whole call, so a peer
// that trickles a byte at a time cannot stretch it. Without one, each read of the stream has
// the stream's idle timeout (TcpOptions::idle_timeout), as the stream's ReadSome does.
//
// Shard affinity: as the stream's (net/tcp.h). One coroutine at a time may read; the reader is
// move-only and may be moved to another actor between calls, not during one.
//
// Cancellation: destroying a coroutine blocked in ReadLine or ReadExactly cancels the stream's
// read (net/tcp.h); the reader is then normally destroyed with that coroutine's frame.
//
// Errors, besides the stream's own (net/tcp.h, net/tls.h), which are passed on unchanged:
//   kOutOfRange         ReadLine: end of stream with no partial line left (a normal end);
//   kResourceExhausted  a line longer than max_line_bytes (the terminator not counted): the
//                       reader has lost its place in the stream and frees its buffer; the
//                       stream is still open, for an error reply;
//   kDeadlineExceeded   the timeout ran out. Nothing is lost: the partial line stays buffered
//                       and the next ReadLine goes on with it;
//   kUnavailable        ReadExactly: the stream ended before `count` bytes;
//   kFailedPrecondition every call after a too-long line or a failed ReadExactly (whose bytes
//                       read so far are lost), and on a reader whose stream is closed.
#pragma once

#include <algorithm>
#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "snow/core/task.h"
#include "snow/core/time.h"
#include "snow/net/internal/awaitables.h"

namespace snow::net {

struct LineReaderOptions {
  // The longest line accepted, without its terminator; at most 1 GiB.
  size_t max_line_bytes = 64 * 1024;
};

// What LineReader needs of a stream: TcpStream and TlsStream have it.
template <typename S>
concept LineReadableStream = requires(S& stream, std::span<char> buffer, absl::Duration timeout) {
  stream.ReadSome(buffer);
  stream.ReadSome(buffer, timeout);
  stream.ReadExactly(buffer);
  stream.ReadExactly(buffer, timeout);
};

}  // namespace snow::net

namespace snow::net_internal {

// The stream-independent half of LineReader: the buffer, the search for lines, the length
// limit and the reader's end or failure. Not thread-safe (one reader's state).
class LineBuffer {
 public:
  explicit LineBuffer(size_t max_line_bytes);
  LineBuffer(LineBuffer&&) = default;
  LineBuffer& operator=(LineBuffer&&) = default;

  // A whole buffered line into `*line` (true), or false when more bytes are needed; an error
  // when the reader has failed or the line is too long (the reader fails).
  absl::StatusOr<bool> TakeLine(std::string* line);
  // At end of stream: the partial line, once; afterwards kOutOfRange.
  absl::StatusOr<std::string> TakeLast();
  // Up to `count` buffered bytes.
  std::string Take(size_t count);

  // Where the next read of the stream goes (never empty: TakeLine fails first). Valid until
  // the next call of any member.
  std::span<char> Space();
  // `n` bytes were read into Space(); 0: end of stream.
  void Filled(size_t n);

  // From now on every call fails with kFailedPrecondition, naming `why`.
  void Fail(const absl::Status& why);
  const absl::Status& failed() const { return failed_; }
  bool ended() const { return ended_; }
  size_t buffered() const { return end_ - begin_; }
  size_t max_line_bytes() const { return max_line_bytes_; }

 private:
  absl::Status TooLong();

  size_t max_line_bytes_;
  size_t limit_;  // the most the buffer ever holds
  std::unique_ptr<char[]> data_;
  size_t capacity_ = 0;
  size_t begin_ = 0;    // the first unread byte
  size_t scanned_ = 0;  // [begin_, scanned_) holds no '\n'
  size_t end_ = 0;      // one past the last read byte
  bool ended_ = false;  // the stream has ended
  absl::Status failed_;
};

// The deadline of a call with `timeout`, on the shard's monotonic clock (core/time.h).
inline absl::Duration LineDeadline(absl::Duration timeout) {
  return timeout == absl::InfiniteDuration() ? timeout : MonotonicNow() + timeout;
}
inline absl::Duration LineTimeLeft(absl::Duration deadline) {
  return deadline == absl::InfiniteDuration() ? deadline : deadline - MonotonicNow();
}

}  // namespace snow::net_internal

namespace snow::net {

template <LineReadableStream Stream>
class LineReader {
 public:
  explicit LineReader(Stream stream, LineReaderOptions options = {})
      : stream_(std::move(stream)), buffer_(options.max_line_bytes) {}
  LineReader(LineReader&&) = default;
  LineReader& operator=(LineReader&&) = default;

  // The next line, without "\n" or "\r\n" (see the file comment for the errors). The
  // deadline of each read is the stream's idle timeout, or `timeout` for the whole call.
  net_internal::Immediate<absl::StatusOr<std::string>> ReadLine() {
    return net_internal::Immediate<absl::StatusOr<std::string>>(
        ReadLineImpl(false, absl::ZeroDuration()));
  }
  net_internal::Immediate<absl::StatusOr<std::string>> ReadLine(absl::Duration timeout) {
    return net_internal::Immediate<absl::StatusOr<std::string>>(ReadLineImpl(true, timeout));
  }
  // The next `count` lines (the answers to `count` pipelined requests, say), with one deadline
  // for them all. Fails as ReadLine does, with kOutOfRange if the stream ends before the last;
  // the lines read before an error are lost.
  net_internal::Immediate<absl::StatusOr<std::vector<std::string>>> ReadLines(
      size_t count, absl::Duration timeout) {
    return net_internal::Immediate<absl::StatusOr<std::vector<std::string>>>(
        ReadLinesImpl(count, timeout));
  }
  // Exactly `count` bytes: buffered ones first, then from the stream. `count` usually comes from
  // the peer: bound it before calling. kUnavailable if the stream ends first.
  net_internal::Immediate<absl::StatusOr<std::string>> ReadExactly(size_t count) {
    return net_internal::Immediate<absl::StatusOr<std::string>>(
        ReadExactlyImpl(count, false, absl::ZeroDuration()));
  }
  net_internal::Immediate<absl::StatusOr<std::string>> ReadExactly(size_t count,
                                                                   absl::Duration timeout) {
    return net_internal::Immediate<absl::StatusOr<std::string>>(
        ReadExactlyImpl(count, true, timeout));
  }

  // For writing replies, closing, and the stream's options and addresses.
  Stream& stream() { return stream_; }
  // Bytes read from the stream and not yet returned.
  size_t buffered() const { return buffer_.buffered(); }
  size_t max_line_bytes() const { return buffer_.max_line_bytes(); }

 private:
  Task<absl::StatusOr<std::string>> ReadLineImpl(bool has_timeout, absl::Duration timeout);
  Task<absl::StatusOr<std::string>> ReadExactlyImpl(size_t count, bool has_timeout,
                                                    absl::Duration timeout);
  Task<absl::StatusOr<std::vector<std::string>>> ReadLinesImpl(size_t count,
                                                               absl::Duration timeout);

  Stream stream_;
  net_internal::LineBuffer buffer_;
};

// Runs as a member of the reader, which the caller's frame holds for the whole call (the
// Immediate is awaited where it is made).
template <LineReadableStream Stream>
Task<absl::StatusOr<std::string>> LineReader<Stream>::ReadLineImpl(bool has_timeout,
                                                                   absl::Duration timeout) {
  absl::Duration deadline =
      has_timeout ? net_internal::LineDeadline(timeout) : absl::InfiniteDuration();
  std::string line;
  for (;;) {
    absl::StatusOr<bool> found = buffer_.TakeLine(&line);
    if (!found.ok()) co_return found.status();
    if (*found) co_return std::move(line);
    if (buffer_.ended()) co_return buffer_.TakeLast();
    // Points into the reader's buffer, which nothing else touches until the read is over.
    std::span<char> space = buffer_.Space();
    absl::StatusOr<size_t> n = absl::UnknownError("no read");
    if (has_timeout) {
      absl::Duration left = net_internal::LineTimeLeft(deadline);
      if (left <= absl::ZeroDuration()) {
        co_return absl::DeadlineExceededError(
            absl::StrCat("no whole line within ", absl::FormatDuration(timeout)));
      }
      absl::StatusOr<size_t> read = co_await stream_.ReadSome(space, left);
      n = std::move(read);
    } else {
      absl::StatusOr<size_t> read = co_await stream_.ReadSome(space);
      n = std::move(read);
    }
    if (!n.ok()) co_return n.status();
    buffer_.Filled(*n);
  }
}

template <LineReadableStream Stream>
Task<absl::StatusOr<std::vector<std::string>>> LineReader<Stream>::ReadLinesImpl(
    size_t count, absl::Duration timeout) {
  const absl::Duration deadline = net_internal::LineDeadline(timeout);
  std::vector<std::string> lines;
  lines.reserve(std::min<size_t>(count, 4096));  // `count` may come from a peer
  while (lines.size() < count) {
    absl::Duration left = net_internal::LineTimeLeft(deadline);
    if (left <= absl::ZeroDuration()) {
      co_return absl::DeadlineExceededError(absl::StrCat(
          lines.size(), " of ", count, " lines within ", absl::FormatDuration(timeout)));
    }
    absl::StatusOr<std::string> line = co_await ReadLineImpl(true, left);
    if (!line.ok()) co_return line.status();
    lines.push_back(std::move(*line));
  }
  co_return lines;
}

template <LineReadableStream Stream>
Task<absl::StatusOr<std::string>> LineReader<Stream>::ReadExactlyImpl(size_t count,
                                                                      bool has_timeout,
                                                                      absl::Duration timeout) {
  if (!buffer_.failed().ok()) co_return buffer_.failed();
  std::string bytes = buffer_.Take(count);
  if (bytes.size() == count) co_return std::move(bytes);
  if (buffer_.ended()) {
    co_return absl::UnavailableError(
        absl::StrCat("the peer closed the stream after ", bytes.size(), " of ", count, " bytes"));
  }
  size_t have = bytes.size();
  bytes.resize(count);
  std::span<char> rest(bytes.data() + have, count - have);
  absl::Status read = absl::UnknownError("no read");
  if (has_timeout) {
    absl::Status got = co_await stream_.ReadExactly(rest, timeout);
    read = std::move(got);
  } else {
    absl::Status got = co_await stream_.ReadExactly(rest);
    read = std::move(got);
  }
  if (!read.ok()) {
    buffer_.Fail(read);
    co_return read;
  }
  co_return std::move(bytes);
}

// Serves a line protocol on `stream` (as a connection's actor, say): answers each line with
// `co_await answer(line)` and "\n", in order, one line at a time, until the peer closes its
// side (then OK), the stream fails, a line is over the limit, or no line comes within
// `idle_timeout` (each returned as the error). `answer` takes the line as a std::string and
// returns a Task<std::string>; it is kept in this coroutine's frame, so a lambda that captures
// the caller's locals by reference is safe while the caller awaits AnswerLines:
//
//   Task<absl::Status> Connection(Self self, net::TcpStream stream, Config config) {
//     co_return co_await net::AnswerLines(
//         std::move(stream), [&](std::string line) { return Answer(self, config, line); });
//   }
template <LineReadableStream Stream, typename Answer>
Task<absl::Status> AnswerLines(Stream stream, Answer answer,
                               absl::Duration idle_timeout = absl::Minutes(5)) {
  LineReader<Stream> reader(std::move(stream));
  for (;;) {
    absl::StatusOr<std::string> line = co_await reader.ReadLine(idle_timeout);
    if (absl::IsOutOfRange(line.status())) co_return absl::OkStatus();  // the peer is done
    if (!line.ok()) co_return line.status();
    std::string reply = co_await answer(std::move(*line));
    reply += '\n';
    absl::Status written = co_await reader.stream().WriteAll(reply);
    if (!written.ok()) co_return written;
  }
}

}  // namespace snow::net
