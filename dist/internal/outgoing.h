// File: dist/internal/outgoing.h
//
// Outgoing: what one connection has to write, and the writer that writes it (PROTOCOL.md §5,
// §7, §10). Touched only on the connection's shard.
//
// Small frames are appended to one buffer and leave in the writer's next write, however many
// there are (coalescing). A payload over kBulkThreshold goes to the bulk lane and leaves in
// fragments, one per write, between the small frames, so a 64 MiB message holds the others back
// by one fragment at most in this queue. In the kernels' socket buffers they would still wait
// behind megabytes of fragments; so while small frames compete with a large message, fragments
// get smaller and the writer keeps at most a small window of them unread by the peer (it says
// what it read: BULK_READ; LatencyPacing below), and a small frame finds little ahead of it. A
// large message alone goes in full-size fragments, unpaced, for throughput. A message's binaries of
// kBulkThreshold or more are not copied into the frame: the bulk item keeps the message and writes
// them from it. Per-pair order holds because a frame for a PID that has a bulk payload queued
// follows it through the bulk lane. Messages past `max_queue_bytes` are refused (the caller drops
// and counts them); signals never are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "snow/core/event.h"
#include "snow/core/remote.h"
#include "snow/core/signal_kind.h"
#include "snow/core/task.h"
#include "snow/dist/internal/protocol.h"
#include "snow/dist/internal/stats.h"
#include "snow/dist/message.h"
#include "snow/net/stream.h"
#include "snow/wire/byte_buffer.h"
#include "snow/wire/limits.h"

namespace snow::dist_internal {

// Where a term written by EncodeMessage has its top-level struct header: the shape key and the
// header's bytes in the buffer, [begin, end). Key nullptr: the value is no struct definition.
struct TopLevelHeader {
  const void* key = nullptr;
  size_t begin = 0;
  size_t end = 0;
};

// Appends `value` (a `type`) as one STF term, version byte first, PIDs written by `pids`. On
// error `out` is left as it was. With `borrowed`, large binaries are listed there instead of
// copied (wire::EncodeOptions::borrowed). With `defined_shape`, the term is written with that
// shape agreed (wire::EncodeOptions::defined_shape). With `header`, says where the top-level
// struct header went.
absl::Status EncodeMessage(const RemoteType& type, const void* value, PidContext& pids,
                           wire::ByteBuffer& out,
                           std::vector<wire::BorrowedBytes>* borrowed = nullptr,
                           const void* defined_shape = nullptr, TopLevelHeader* header = nullptr);

// While small frames compete with a large message (one was queued while fragments were), and
// for kLatencyHoldNanos after: fragments of `fragment` bytes, at most `window` of them unread by
// the peer. TLS halves both: a byte costs several times as much to seal and open as to copy.
// Chosen with snow_bench W7c (round trips while 64 MiB go out), where they keep p99 under 1 ms,
// plain and TLS, and slow the large message by a fifth to a third while they last.
struct LatencyPacing {
  size_t fragment;
  size_t window;
};
inline constexpr LatencyPacing kPlainPacing{64 * 1024, 128 * 1024};
inline constexpr LatencyPacing kTlsPacing{32 * 1024, 64 * 1024};
inline constexpr int64_t kLatencyHoldNanos = 100'000'000;

class Outgoing {
 public:
  Outgoing(size_t max_queue_bytes, size_t room_high_bytes, size_t room_low_bytes, ShardStats* stats)
      : max_queue_bytes_(max_queue_bytes),
        room_high_bytes_(room_high_bytes),
        room_low_bytes_(room_low_bytes),
        stats_(stats) {}
  ~Outgoing() { ShardStats::Move(stats_->queued_bytes, -static_cast<int64_t>(reported_bytes_)); }
  Outgoing(const Outgoing&) = delete;
  Outgoing& operator=(const Outgoing&) = delete;

  // True when messages must be refused until the writer catches up.
  bool full() const { return queued_bytes_ > max_queue_bytes_; }

  // Flow control (dist::WaitForRoom): true when at most the high watermark is queued; otherwise
  // `waiter` gets RoomAvailable{token} once at most the low watermark is (or the connection
  // ends), and false is returned.
  bool AskForRoom(Pid waiter, uint64_t token);
  // Tells every waiter now (the session calls it when it closes).
  void TellWaiters();
  // The session is closing: WriteLoop ends after the write in progress (kCancelled).
  void Stop() {
    stopping_ = true;
    work_.Notify();
  }

  // Queues SEND of message `e` (a `type`) to the peer's actor `to` (its PID in the peer's
  // numbering), PIDs inside written by `pids`. On an encoding error nothing is queued. A message
  // with large binaries is kept (moved from `e`) until they are written.
  absl::Status AddMessage(uint64_t to, const RemoteType& type, RemoteEnvelope& e, PidContext& pids);
  // Queues SIGNAL `kind` from local actor `from` to the peer's actor `to`.
  void AddSignal(uint64_t to, SignalKind kind, uint64_t from, uint64_t ref,
                 const absl::Status& reason);
  // Queues PEERS: the nodes this one is connected to.
  void AddPeers(const std::vector<std::string>& names);
  // Queues a complete frame (header included) made elsewhere: a named send.
  void AddFrame(wire::ByteSpan frame);
  // Queues LANES_UP for this node's lane `lane`, behind everything queued, large messages too.
  void AddLanesUp(uint16_t lane);
  // Queues LANES_WANTED for this node's lane `lane`.
  void AddLanesWanted(uint16_t lane);
  // Queues BULK_READ: this side read `bytes` of the peer's fragments.
  void AddBulkRead(uint32_t bytes);
  // The peer acknowledges fragments (BULK_READ): from now on, while small frames compete, at
  // most `pacing.window` bytes of them are written ahead of its acknowledgements.
  void UseBulkWindow(LatencyPacing pacing) {
    windowed_ = true;
    pacing_ = pacing;
  }
  // The peer reads DEFINE_SHAPE and SEND_SHAPED: from now on each message type's top-level
  // struct header is sent once, after its first message, and its later messages refer to it.
  void UseDefinedShapes() { defined_shapes_ = true; }
  // The peer read `bytes` of this side's fragments.
  void BulkRead(uint32_t bytes);

  // Writes what is queued, as it comes, until a write fails; returns why. When nothing has been
  // written for a quarter of `tick`, writes an empty frame: the peer's heartbeat.
  Task<absl::Status> WriteLoop(net::Stream& stream, absl::Duration tick);

 private:
  struct BulkItem {
    BulkItem(wire::ByteBuffer payload, size_t payload_offset, uint64_t destination)
        : bytes(std::move(payload)), offset(payload_offset), to(destination) {}
    wire::ByteBuffer bytes;  // one frame payload at bytes[offset..], or its parts but the borrowed
    size_t offset = 0;
    uint64_t to = 0;  // destination PID bits
    // The payload in order: parts of `bytes` and borrowed binaries of `message`. Empty until
    // the item is complete (Seal).
    std::vector<std::span<const char>> pieces;
    size_t piece = 0;         // the piece being written
    size_t piece_offset = 0;  // and how much of it is written
    uint64_t total = 0;       // payload bytes
    uint64_t sent = 0;        // payload bytes written
    // The largest borrowed binary, as the first fragment announces it (PROTOCOL.md §4): where
    // its bytes start in the payload, and how many. 0, 0: none.
    uint64_t binary_at = 0;
    uint64_t binary_length = 0;
    RemoteEnvelope message;  // what borrowed pieces point into
    void Seal();             // a payload all in `bytes`: one piece
  };

  // What this connection has told the peer about a message type.
  struct TypeEntry {
    uint16_t id = 0;
    const void* shape = nullptr;  // the shape key of its DEFINE_SHAPE; nullptr: none (yet)
    bool shape_considered = false;
  };
  // The type's entry, DEFINE_TYPE queued first if it is new here.
  TypeEntry& TypeOf(const RemoteType* type);
  // After the type's first message, whose top-level struct header (shape `key`) was `header`:
  // queues DEFINE_SHAPE for it. Key nullptr: the type has no header to define.
  void DefineShape(TypeEntry& entry, std::string_view header, const void* key);
  // Queues a small frame of `kind` whose one field is `value`.
  template <typename Int>
  void AddControl(FrameKind kind, Int value);
  // Starts a frame in the right lane for `to`; returns the buffer and where the frame starts.
  wire::ByteBuffer& BeginFrame(uint64_t to, size_t* start);
  // Ends it: a small frame gets its header, a large payload moves to the bulk lane.
  void EndFrame(wire::ByteBuffer& out, size_t start, uint64_t to);
  // Ends it for a message whose binaries `borrowed_` lists: a bulk item that keeps `message`.
  void EndBorrowingFrame(wire::ByteBuffer& out, size_t start, uint64_t to, RemoteEnvelope message);
  // Moves the large frame at urgent_[start..] to a new bulk item.
  BulkItem& MoveToBulk(size_t start, uint64_t to);
  // Takes back a frame begun with BeginFrame.
  void AbandonFrame(wire::ByteBuffer& out, size_t start, uint64_t to);
  void NoteBulk(uint64_t to) { ++bulk_destinations_[to]; }
  void NoteQueued(size_t bytes) {
    queued_bytes_ += bytes;
    if (queued_bytes_ > peak_bytes_) [[unlikely]] {
      peak_bytes_ = queued_bytes_;
      ShardStats::Max(stats_->queued_bytes_peak, peak_bytes_);
    }
  }
  // Brings the shard's queued_bytes gauge up to date: once per write, not per message.
  void ReportQueued() {
    ShardStats::Move(stats_->queued_bytes,
                     static_cast<int64_t>(queued_bytes_) - static_cast<int64_t>(reported_bytes_));
    reported_bytes_ = queued_bytes_;
  }
  void BulkDone(uint64_t to);
  // A fragment may be written now: one is queued and, while small frames compete, the window
  // has room.
  bool BulkReady() const {
    return !bulk_.empty() && (!latency_minded_ || !windowed_ || bulk_unread_ < pacing_.window);
  }
  // A small frame was queued while a large message is: fragments make way for a while.
  void NoteCompetition() { latency_until_ = remote::NowNanos() + kLatencyHoldNanos; }
  // Builds the next write: the small frames, and the header of the next bulk fragment if one may
  // go (BulkReady). Returns the fragment's bytes (written right after `writing`), empty if none.
  std::span<const char> NextWrite(wire::ByteBuffer& writing);

  const size_t max_queue_bytes_;
  const size_t room_high_bytes_;
  const size_t room_low_bytes_;
  ShardStats* stats_;
  std::vector<std::pair<Pid, uint64_t>> room_waiters_;  // AskForRoom's: waiter, token
  Event work_;  // the writer waits here while nothing is queued
  wire::ByteBuffer urgent_;
  std::deque<BulkItem> bulk_;
  absl::flat_hash_map<uint64_t, uint32_t> bulk_destinations_;
  size_t queued_bytes_ = 0;
  size_t peak_bytes_ = 0;
  size_t reported_bytes_ = 0;  // what the gauge holds for this connection
  bool stopping_ = false;
  bool windowed_ = false;
  LatencyPacing pacing_ = kPlainPacing;
  size_t bulk_unread_ = 0;       // fragment bytes written that the peer has not said it read
  bool latency_minded_ = false;  // small frames compete: as of the writer's last look
  int64_t latency_until_ = 0;
  bool defined_shapes_ = false;
  absl::flat_hash_map<const RemoteType*, TypeEntry> types_;
  std::vector<wire::BorrowedBytes> borrowed_;  // scratch for AddMessage
  const RemoteType* last_type_ = nullptr;
  TypeEntry* last_entry_ = nullptr;  // the entry of last_type_ (flat_hash_map moves entries)
};

}  // namespace snow::dist_internal
