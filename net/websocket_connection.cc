#include "snow/net/internal/websocket_connection.h"

#include <array>
#include <span>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "snow/net/crypto.h"
#include "snow/net/internal/utf8.h"
#include "snow/net/websocket_rooms.h"

namespace snow::net::net_websocket {

using net_internal::WsReader;

uint32_t Connection::Mask() {
  // From the kernel's CSPRNG, a thousand keys per call.
  thread_local std::array<uint32_t, 1024> pool;
  thread_local size_t next = pool.size();
  if (next == pool.size()) {
    (void)RandomBytes(std::span<uint8_t>(reinterpret_cast<uint8_t*>(pool.data()), sizeof pool));
    next = 0;
  }
  return pool[next++];
}

HttpRequest Connection::WithoutHandshake(HttpRequest request) {
  std::erase_if(request.headers, [](const HttpHeader& h) {
    return absl::EqualsIgnoreCase(h.name, "Connection") ||
           absl::EqualsIgnoreCase(h.name, "Upgrade") ||
           absl::StartsWithIgnoreCase(h.name, "Sec-WebSocket-");
  });
  request.headers.shrink_to_fit();
  request.params.shrink_to_fit();
  return request;
}

namespace {

// After this side failed the connection (Connection::Fail): reads and drops what the peer still
// sends until it closes (or close_timeout), so that closing the socket with bytes unread does not
// reset the connection and lose the close frame on its way. The writer's half-close tells the
// peer to close at once.
Task<void> DrainUntilClosed(Connection& c, std::string& buffer) {
  buffer.resize(16 * 1024);
  const absl::Time deadline = absl::Now() + c.options.close_timeout;
  for (;;) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) co_return;
    absl::StatusOr<size_t> n = co_await c.stream.ReadSome(std::span<char>(buffer), left);
    if (!n.ok() || *n == 0) co_return;
  }
}

// Hands the message `reader` holds to the owner, inflated if it came compressed; why the
// connection fails instead, when it does (a plain function: the frame that every connection
// holds while it waits need not hold this one's locals).
std::optional<WsClosed> Deliver(Self self, Connection& c, WsReader& reader) {
  if (!reader.compressed()) {
    self.Send(c.owner, WsMessage{reader.text(), std::move(reader.payload())});
    return std::nullopt;
  }
  absl::StatusOr<std::string> inflated =
      c.deflate->Inflate(reader.payload(), c.options.max_message_bytes);
  uint16_t refusal = 0;
  if (!inflated.ok()) {
    refusal = absl::IsResourceExhausted(inflated.status()) ? net_internal::kWsMessageTooBig
                                                           : net_internal::kWsInvalidData;
  } else if (reader.text()) {
    net_internal::Utf8Validator utf8;
    if (!utf8.Feed(*inflated) || !utf8.complete()) refusal = net_internal::kWsInvalidData;
  }
  if (refusal != 0) {
    std::string why = inflated.ok() ? std::string("text that is not UTF-8")
                                    : std::string(inflated.status().message());
    c.Fail(refusal, why);
    return WsClosed{refusal, std::move(why)};
  }
  self.Send(c.owner, WsMessage{reader.text(), std::move(*inflated)});
  return std::nullopt;
}

}  // namespace

// One frame for reading and for the end: an idle connection holds it for as long as it lasts.
Task<absl::Status> Serve(Self self, std::shared_ptr<Connection> connection, std::string leftover) {
  Connection& c = *connection;
  WsReader reader({.expect_masked = !c.client,
                   .max_message_bytes = c.options.max_message_bytes,
                   .allow_rsv1 = c.deflate != nullptr});
  std::string buffer = std::move(leftover);
  constexpr size_t kSmallReadBytes = 512;
  constexpr size_t kLargeReadBytes = 16 * 1024;
  size_t read_size = kSmallReadBytes;
  size_t last_read = 0;
  bool filled = false;
  size_t begin = 0;
  bool awaiting_pong = false;
  // Nothing but pongs since the connection opened or last went silent for ping_after: wait for
  // bytes without a buffer (most members of a big room only listen), then read what came at
  // once. Once the peer talks, reads wait with a buffer, which saves a call per message.
  bool quiet = true;
  std::optional<WsClosed> closed;  // why the connection ended, once it has
  while (!closed.has_value()) {
    if (begin == buffer.size()) {
      // Small reads keep a small buffer; a read that fills the buffer grows it for the bulk
      // that follows.
      if (filled) {
        read_size = kLargeReadBytes;
      } else if (last_read < kSmallReadBytes) {
        read_size = kSmallReadBytes;
      }
      begin = 0;
      const absl::Duration wait = c.closing       ? c.options.close_timeout
                                  : awaiting_pong ? c.options.ping_timeout
                                                  : c.options.ping_after;
      absl::StatusOr<size_t> n = size_t{0};
      bool read = false;
      if (quiet) {
        std::string().swap(buffer);
        absl::Status readable = co_await c.stream.WaitReadable(wait);
        if (readable.ok()) {
          buffer.resize(read_size);
          n = c.stream.ReadSomeNow(std::span<char>(buffer));
          read = n.ok() || !absl::IsDeadlineExceeded(n.status());  // over TLS: not read yet
        } else {
          n = readable;
          read = true;
        }
      }
      if (!read) {
        if (buffer.capacity() > 2 * read_size) std::string().swap(buffer);
        buffer.resize(read_size);
        n = co_await c.stream.ReadSome(std::span<char>(buffer), wait);
      }
      if (!n.ok() && absl::IsDeadlineExceeded(n.status()) && !c.closing && !awaiting_pong) {
        buffer.clear();
        c.Queue(WsOpcode::kPing, "");
        awaiting_pong = true;
        quiet = true;
        continue;
      }
      if (!n.ok()) {
        closed = WsClosed{1006,
                          absl::IsDeadlineExceeded(n.status())
                              ? (c.closing ? "no answer to the close frame" : "no answer to a ping")
                              : std::string(n.status().message())};
        continue;
      }
      if (*n == 0) {
        closed = WsClosed{1006, "closed without a close frame"};
        continue;
      }
      filled = *n == buffer.size();
      last_read = *n;
      buffer.resize(*n);
      quiet = quiet && awaiting_pong;  // bytes after a ping are most likely its pong
      awaiting_pong = false;           // any bytes show the peer is alive
    }
    size_t used = 0;
    const WsReader::Event event = reader.Read(std::string_view(buffer).substr(begin), &used);
    begin += used;
    switch (event) {
      case WsReader::Event::kNeedMore:
        break;
      case WsReader::Event::kMessage:
        closed = Deliver(self, c, reader);
        break;
      case WsReader::Event::kPing:
        if (!c.closing) c.Queue(WsOpcode::kPong, reader.payload());
        break;
      case WsReader::Event::kPong:
        break;
      case WsReader::Event::kClose: {
        // Answer with the same code (RFC 6455 §5.5.1), unless this side closed first.
        const uint16_t code = reader.close_code();
        c.QueueClose(code == net_internal::kWsNoStatus ? net_internal::kWsNormalClosure : code, "");
        closed = WsClosed{code, reader.close_reason()};
        break;
      }
      case WsReader::Event::kError:
        c.Fail(reader.error_code(), reader.error());
        closed = WsClosed{reader.error_code(), reader.error()};
        break;
    }
    if (closed.has_value() && c.failed) co_await DrainUntilClosed(c, buffer);
  }
  c.finished = true;
  for (const auto& [rooms, room] : c.rooms) {
    if (std::shared_ptr<Rooms> alive = rooms.lock()) alive->LeaveLocal(&c, room);
  }
  c.rooms.clear();
  self.Send(c.owner, std::move(*closed));
  c.work.Notify();
  co_return absl::OkStatus();
}

namespace {

// The next write: the only piece, or the pieces waiting joined into one (up to 64 KiB).
Connection::Piece TakeNext(std::vector<Connection::Piece>& pieces) {
  constexpr size_t kBatchBytes = 64 * 1024;
  if (pieces.size() == 1) {
    Connection::Piece only = std::move(pieces.front());
    pieces.clear();
    return only;
  }
  auto bytes_of = [](const Connection::Piece& piece) {
    return piece.shared != nullptr ? std::string_view(*piece.shared) : std::string_view(piece.own);
  };
  size_t taken = 0;
  size_t total = 0;
  while (taken < pieces.size() && total < kBatchBytes) total += bytes_of(pieces[taken++]).size();
  Connection::Piece batch;
  batch.own.reserve(total);  // one allocation for the batch
  for (size_t i = 0; i < taken; ++i) batch.own.append(bytes_of(pieces[i]));
  pieces.erase(pieces.begin(), pieces.begin() + static_cast<std::ptrdiff_t>(taken));
  return batch;
}

}  // namespace

Task<absl::Status> WriterRun(Self, std::shared_ptr<Connection> connection) {
  Connection& c = *connection;
  // Once this side's close frame is out, the peer has close_timeout to answer it; then the
  // stream is closed, which ends the reader's wait too.
  absl::Time close_deadline = absl::InfiniteFuture();
  bool half_closed = false;
  bool shut_down = false;  // the close went unanswered: nothing more is written
  for (;;) {
    if (c.pieces.empty() || shut_down) {
      if (c.finished) break;
      if (c.closing && close_deadline == absl::InfiniteFuture()) {
        close_deadline = absl::Now() + c.options.close_timeout;
      }
      // One wait in the loop: each co_await site holds its own awaiter in this frame.
      const absl::Duration wait =
          shut_down ? absl::InfiniteDuration() : close_deadline - absl::Now();
      const bool woken = co_await c.work.Wait(wait);
      if (!woken && !shut_down && absl::Now() >= close_deadline) {
        c.stream.ShutdownNow();  // ends the reader's wait: it reads the end of the stream
        shut_down = true;
      }
      continue;
    }
    // Several pieces waiting (a room's frames, a burst of sends): one write for them all.
    Connection::Piece piece = TakeNext(c.pieces);
    const std::string_view bytes = piece.shared != nullptr ? *piece.shared : piece.own;
    absl::Status written = co_await c.stream.WriteAll(bytes, c.options.write_timeout);
    c.queued -= bytes.size();
    if (!written.ok()) break;  // the reader's read fails too once the stream is closed
    if (c.failed && c.closing && c.pieces.empty() && !half_closed) {
      half_closed = true;  // the close frame was the last piece: nothing more goes out
      (void)co_await c.stream.Shutdown();
    }
  }
  co_return co_await c.stream.Close();
}

}  // namespace snow::net::net_websocket
