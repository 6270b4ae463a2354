#include "snow/dist/internal/outgoing.h"

#include <algorithm>
#include <utility>

#include "snow/core/remote.h"
#include "snow/core/status.h"
#include "snow/dist/internal/fields.h"
#include "snow/dist/internal/protocol.h"
#include "snow/dist/internal/stats.h"
#include "snow/dist/node.h"
#include "snow/wire/frame.h"
#include "snow/wire/writer.h"

namespace snow::dist_internal {
namespace {

// Frames built here are bounded by construction (a small frame is at most kBulkThreshold bytes;
// larger payloads go out as fragments), so the length always fits.
void EndSmallFrame(wire::ByteBuffer& out, size_t start, size_t trailing_bytes = 0) {
  absl::Status s = wire::EndFrame(out, start, kMaxWireFrame, trailing_bytes);
  SNOW_CHECK(s.ok(), "a dist frame over kMaxWireFrame");
}

}  // namespace

absl::Status EncodeMessage(const RemoteType& type, const void* value, PidContext& pids,
                           wire::ByteBuffer& out, std::vector<wire::BorrowedBytes>* borrowed,
                           const void* defined_shape, TopLevelHeader* header) {
  const size_t start = out.size();
  wire::EncodeOptions options;
  options.context = &pids;
  options.borrowed = borrowed;
  options.borrow_from_bytes = kBulkThreshold;
  options.defined_shape = defined_shape;
  absl::Status status;
  {
    wire::Writer w(out, options);
    w.WriteVersion();
    type.codec.encode(w, value);
    if (header != nullptr && !w.TopLevelDefinition(&header->key, &header->begin, &header->end)) {
      header->key = nullptr;
    }
    status = w.Finish();
  }
  if (!status.ok()) out.Truncate(start);
  return status;
}

Outgoing::TypeEntry& Outgoing::TypeOf(const RemoteType* type) {
  if (type == last_type_) return *last_entry_;
  auto [it, inserted] = types_.try_emplace(type);
  if (inserted) {
    SNOW_CHECK(types_.size() < kMaxTypesPerConnection,
               "more than 65534 message types on one connection");
    it->second.id = static_cast<uint16_t>(types_.size() - 1);
    // Defined before first use: DEFINE_TYPE goes ahead of the frame that needs it, in the
    // urgent lane, which every lane's frames follow.
    const size_t start = wire::BeginFrame(urgent_);
    FieldWriter w(urgent_);
    w.U8(static_cast<uint8_t>(FrameKind::kDefineType));
    w.Int(it->second.id);
    w.Name(type->wire_name);
    EndSmallFrame(urgent_, start);
    NoteQueued(urgent_.size() - start);
  }
  last_type_ = type;
  last_entry_ = &it->second;
  return it->second;
}

void Outgoing::DefineShape(TypeEntry& entry, std::string_view header, const void* key) {
  entry.shape_considered = true;
  if (key == nullptr) return;                  // not a struct: nothing to spare
  if (header.size() > kMaxShapeBytes) return;  // the peer would refuse it
  // In the urgent lane: every later message of the type, small or large, is queued after it, so
  // the peer reads it before them. (The message it came from is a plain SEND, whichever lane it
  // went to.)
  const size_t start = wire::BeginFrame(urgent_);
  FieldWriter w(urgent_);
  w.U8(static_cast<uint8_t>(FrameKind::kDefineShape));
  w.Int(entry.id);
  w.Bytes(header);
  EndSmallFrame(urgent_, start);
  NoteQueued(urgent_.size() - start);
  entry.shape = key;
}

wire::ByteBuffer& Outgoing::BeginFrame(uint64_t to, size_t* start) {
  if (!bulk_.empty() && bulk_destinations_.contains(to)) [[unlikely]] {
    // Behind a large message to the same actor: keep the order by following it.
    bulk_.emplace_back(wire::ByteBuffer(), wire::kFrameHeaderBytes, to);
    NoteBulk(to);
    *start = wire::BeginFrame(bulk_.back().bytes);
    return bulk_.back().bytes;
  }
  *start = wire::BeginFrame(urgent_);
  return urgent_;
}

void Outgoing::EndFrame(wire::ByteBuffer& out, size_t start, uint64_t to) {
  const size_t payload = out.size() - start - wire::kFrameHeaderBytes;
  work_.Notify();
  if (payload <= kBulkThreshold && &out == &urgent_) [[likely]] {
    NoteQueued(payload + wire::kFrameHeaderBytes);
    EndSmallFrame(out, start);
    if (!bulk_.empty()) [[unlikely]]
      NoteCompetition();
    return;
  }
  // A bulk item counts its payload only: WriteLoop takes back what its pieces carry, and the
  // fragments' own headers were never queued.
  NoteQueued(payload);
  if (&out == &urgent_) MoveToBulk(start, to);
}

Outgoing::BulkItem& Outgoing::MoveToBulk(size_t start, uint64_t to) {
  if (start == 0) {
    bulk_.emplace_back(std::move(urgent_), wire::kFrameHeaderBytes, to);
    urgent_ = wire::ByteBuffer();
  } else {
    wire::ByteBuffer copy;
    copy.Append(urgent_.view().subspan(start + wire::kFrameHeaderBytes));
    bulk_.emplace_back(std::move(copy), 0, to);
    urgent_.Truncate(start);
  }
  NoteBulk(to);
  return bulk_.back();
}

void Outgoing::AbandonFrame(wire::ByteBuffer& out, size_t start, uint64_t to) {
  out.Truncate(start);
  if (&out != &urgent_) {
    bulk_.pop_back();
    BulkDone(to);
  }
}

void Outgoing::BulkDone(uint64_t to) {
  auto it = bulk_destinations_.find(to);
  if (it != bulk_destinations_.end() && --it->second == 0) bulk_destinations_.erase(it);
}

absl::Status Outgoing::AddMessage(uint64_t to, const RemoteType& type, RemoteEnvelope& e,
                                  PidContext& pids) {
  TypeEntry& entry = TypeOf(&type);
  size_t start;
  wire::ByteBuffer& out = BeginFrame(to, &start);
  FieldWriter w(out);
  w.U8(static_cast<uint8_t>(entry.shape != nullptr ? FrameKind::kSendShaped : FrameKind::kSend));
  w.Int(entry.id);
  w.Int(to);
  // The type's first message here also tells where its header is, to define its shape.
  TopLevelHeader header;
  const bool define = defined_shapes_ && !entry.shape_considered;
  absl::Status status = EncodeMessage(type, type.value_of(e), pids, out, &borrowed_, entry.shape,
                                      define ? &header : nullptr);
  if (!status.ok()) [[unlikely]] {
    borrowed_.clear();
    AbandonFrame(out, start, to);
    return status;
  }
  // The header is copied out before the frame may move to the bulk lane.
  std::string defined_header;
  if (define && header.key != nullptr) [[unlikely]] {
    defined_header.assign(reinterpret_cast<const char*>(out.data()) + header.begin,
                          header.end - header.begin);
  }
  if (!borrowed_.empty()) [[unlikely]] {
    EndBorrowingFrame(out, start, to, std::move(e));
  } else {
    EndFrame(out, start, to);
  }
  if (define) [[unlikely]]
    DefineShape(entry, defined_header, header.key);
  return absl::OkStatus();
}

void Outgoing::BulkItem::Seal() {
  total = bytes.size() - offset;
  pieces.assign(1,
                std::span<const char>(reinterpret_cast<const char*>(bytes.data()) + offset, total));
}

void Outgoing::EndBorrowingFrame(wire::ByteBuffer& out, size_t start, uint64_t to,
                                 RemoteEnvelope message) {
  // The payload's own bytes: moved out of the urgent lane, or already in their bulk item.
  const size_t payload_start = start + wire::kFrameHeaderBytes;
  // BeginFrame made the bulk item already when the frame was begun there.
  BulkItem* item = &out == &urgent_ ? &MoveToBulk(start, to) : &bulk_.back();
  const char* inline_bytes = reinterpret_cast<const char*>(item->bytes.data()) + item->offset;
  const size_t inline_size = item->bytes.size() - item->offset;
  size_t at = 0;  // in the payload's own bytes
  item->total = 0;
  for (const wire::BorrowedBytes& b : borrowed_) {
    const size_t until = b.offset - payload_start;
    item->pieces.emplace_back(inline_bytes + at, until - at);
    item->total += until - at;
    if (b.bytes.size() > item->binary_length) {
      item->binary_at = item->total;
      item->binary_length = b.bytes.size();
    }
    item->pieces.emplace_back(b.bytes.data(), b.bytes.size());
    item->total += b.bytes.size();
    at = until;
  }
  item->pieces.emplace_back(inline_bytes + at, inline_size - at);
  item->total += inline_size - at;
  item->message = std::move(message);
  borrowed_.clear();
  NoteQueued(item->total);  // as EndFrame counts a bulk item
  work_.Notify();
}

void Outgoing::AddSignal(uint64_t to, SignalKind kind, uint64_t from, uint64_t ref,
                         const absl::Status& reason) {
  size_t start;
  wire::ByteBuffer& out = BeginFrame(to, &start);
  FieldWriter w(out);
  w.U8(static_cast<uint8_t>(FrameKind::kSignal));
  w.U8(static_cast<uint8_t>(ToWire(kind)));
  w.Int(from);
  w.Int(to);
  w.Int(ref);
  w.U8(ToWire(reason.code()));
  std::string_view message(reason.message().data(), reason.message().size());
  message = message.substr(0, kMaxSignalReason);
  w.Int(static_cast<uint32_t>(message.size()));
  w.Bytes(message);
  EndFrame(out, start, to);
}

void Outgoing::AddPeers(const std::vector<std::string>& names) {
  const size_t start = wire::BeginFrame(urgent_);
  FieldWriter w(urgent_);
  w.U8(static_cast<uint8_t>(FrameKind::kPeers));
  w.Int(static_cast<uint16_t>(names.size()));
  for (const std::string& n : names) w.Name(n);
  EndSmallFrame(urgent_, start);
  NoteQueued(urgent_.size() - start);
  work_.Notify();
}

void Outgoing::AddFrame(wire::ByteSpan frame) {
  urgent_.Append(frame);
  NoteQueued(frame.size());
  work_.Notify();
}

void Outgoing::AddLanesUp(uint16_t lane) {
  // No actor has PID bits 0: the bulk lane's per-destination order is not involved.
  constexpr uint64_t kNoDestination = 0;
  size_t start;
  wire::ByteBuffer* out = &urgent_;
  if (bulk_.empty()) {
    start = wire::BeginFrame(urgent_);
  } else {
    // What the lane sent before must all be handed on first, large messages included.
    bulk_.emplace_back(wire::ByteBuffer(), wire::kFrameHeaderBytes, kNoDestination);
    NoteBulk(kNoDestination);
    out = &bulk_.back().bytes;
    start = wire::BeginFrame(*out);
  }
  FieldWriter w(*out);
  w.U8(static_cast<uint8_t>(FrameKind::kLanesUp));
  w.Int(lane);
  EndFrame(*out, start, kNoDestination);
}

template <typename Int>
void Outgoing::AddControl(FrameKind kind, Int value) {
  const size_t start = wire::BeginFrame(urgent_);
  FieldWriter w(urgent_);
  w.U8(static_cast<uint8_t>(kind));
  w.Int(value);
  EndSmallFrame(urgent_, start);
  NoteQueued(urgent_.size() - start);
  work_.Notify();
}

void Outgoing::AddLanesWanted(uint16_t lane) { AddControl(FrameKind::kLanesWanted, lane); }

void Outgoing::AddBulkRead(uint32_t bytes) { AddControl(FrameKind::kBulkRead, bytes); }

void Outgoing::BulkRead(uint32_t bytes) {
  const bool was_closed = !BulkReady();
  bulk_unread_ -= std::min<size_t>(bulk_unread_, bytes);
  if (was_closed && BulkReady()) work_.Notify();
}

std::span<const char> Outgoing::NextWrite(wire::ByteBuffer& writing) {
  std::swap(writing, urgent_);
  if (!BulkReady()) return {};
  BulkItem& item = bulk_.front();
  if (item.pieces.empty()) item.Seal();
  while (item.piece_offset == item.pieces[item.piece].size()) {
    ++item.piece;  // an empty piece (a binary at the very start or end)
    item.piece_offset = 0;
  }
  const std::span<const char> rest = item.pieces[item.piece].subspan(item.piece_offset);
  const size_t left = item.total - item.sent;
  const size_t chunk = std::min(rest.size(), latency_minded_ ? pacing_.fragment : kFragmentBytes);
  const bool first = item.sent == 0;
  const size_t start = wire::BeginFrame(writing);
  FieldWriter w(writing);
  w.U8(static_cast<uint8_t>(FrameKind::kFragment));
  w.U8(static_cast<uint8_t>((chunk == left ? kLastFragment : 0) | (first ? kFirstFragment : 0)));
  // The first fragment announces the whole size, so the peer allocates once, and where the
  // largest binary is, so the peer reassembles it straight into the string it will decode to.
  if (first) {
    w.Int(uint64_t{left});
    w.Int(item.binary_at);
    w.Int(item.binary_length);
  }
  // The fragment's bytes follow in a second write, from the item's buffer or the message.
  EndSmallFrame(writing, start, chunk);
  return rest.first(chunk);
}

bool Outgoing::AskForRoom(Pid waiter, uint64_t token) {
  if (queued_bytes_ <= room_high_bytes_) return true;
  room_waiters_.emplace_back(waiter, token);
  return false;
}

void Outgoing::TellWaiters() {
  for (const auto& [waiter, token] : room_waiters_) {
    remote::Deliver(RemoteEnvelope::Message(waiter, dist::RoomAvailable{token}));
  }
  room_waiters_.clear();
}

Task<absl::Status> Outgoing::WriteLoop(net::Stream& stream, absl::Duration tick) {
  wire::ByteBuffer writing;
  for (;;) {
    if (stopping_) co_return absl::CancelledError("the session is closing");
    // The clock is read only while a large message is queued: small traffic alone never pays.
    latency_minded_ = !bulk_.empty() && latency_until_ > remote::NowNanos();
    if (urgent_.empty() && !BulkReady()) {
      if (!bulk_.empty()) ShardStats::Add(stats_->bulk_paused, 1);
      bool notified = co_await work_.Wait(tick / 4);
      // Quiet for a quarter of the tick: an empty frame tells the peer we are alive.
      if (!notified && urgent_.empty() && !BulkReady()) {
        const size_t start = wire::BeginFrame(urgent_);
        EndSmallFrame(urgent_, start);
      }
      continue;
    }
    ReportQueued();
    const size_t small_bytes = urgent_.size();
    std::span<const char> piece = NextWrite(writing);
    absl::Status s = co_await stream.WriteAll(writing.chars(), tick);
    if (s.ok() && !piece.empty()) {
      s = co_await stream.WriteAll(piece, tick);
    }
    if (!s.ok()) {
      TellWaiters();  // nothing more will drain: let them find out on their next send
      co_return s;
    }
    if (!piece.empty()) {
      bulk_unread_ += piece.size();
      BulkItem& item = bulk_.front();
      item.piece_offset += piece.size();
      item.sent += piece.size();
      if (item.sent == item.total) {
        BulkDone(item.to);
        bulk_.pop_front();
      }
    }
    const size_t sent = writing.size() + piece.size();
    // A fragment's own header was never counted as queued.
    queued_bytes_ -= std::min(queued_bytes_, small_bytes + piece.size());
    ReportQueued();
    if (!room_waiters_.empty() && queued_bytes_ <= room_low_bytes_) [[unlikely]]
      TellWaiters();
    ShardStats::Add(stats_->bytes_sent, sent);
    writing.clear();
  }
}

}  // namespace snow::dist_internal
