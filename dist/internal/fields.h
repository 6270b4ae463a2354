// File: dist/internal/fields.h
//
// The fixed-width fields of the protocol's own messages (PROTOCOL.md §3 and §4), both ways:
// little-endian integers, names (a length byte, then the bytes), and raw bytes. The handshake and
// the session frames are written and read only through these.
//
//   wire::ByteBuffer out;
//   FieldWriter w(out);
//   w.U8(kind); w.Int(uint16_t{id}); w.Name(type_name);
//
//   FieldReader r(payload);
//   uint16_t id; std::string_view name;
//   if (!r.Int(&id) || !r.Name(&name)) return ProtocolError("short type definition");
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "snow/wire/byte_buffer.h"

namespace snow::dist_internal {

static_assert(std::endian::native == std::endian::little,
              "protocol fields are little-endian and copied as they are");

class FieldWriter {
 public:
  explicit FieldWriter(wire::ByteBuffer& out) : out_(out) {}

  void U8(uint8_t v) { out_.push_back(v); }
  template <std::integral T>
  void Int(T v) {
    std::memcpy(out_.AppendUninitialized(sizeof(T)), &v, sizeof(T));
  }
  void Bytes(std::string_view bytes) { out_.Append(bytes); }
  void Bytes(wire::ByteSpan bytes) { out_.Append(bytes); }
  // At most 255 bytes, cut there: node names, registered names and wire names are checked
  // against that bound where they are made.
  void Name(std::string_view name) {
    name = name.substr(0, 255);
    U8(static_cast<uint8_t>(name.size()));
    Bytes(name);
  }

 private:
  wire::ByteBuffer& out_;
};

// Reads fields off the front of a payload. Every read is checked against what is left; a failed
// read leaves the reader where it was.
class FieldReader {
 public:
  explicit FieldReader(wire::ByteSpan bytes) : bytes_(bytes) {}
  explicit FieldReader(std::string_view bytes)
      : bytes_(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()) {}

  bool U8(uint8_t* v) { return Int(v); }
  template <std::integral T>
  bool Int(T* v) {
    if (bytes_.size() < sizeof(T)) return false;
    std::memcpy(v, bytes_.data(), sizeof(T));
    bytes_.remove_prefix(sizeof(T));
    return true;
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (bytes_.size() < n) return false;
    *out = wire::AsChars(bytes_.subspan(0, n));
    bytes_.remove_prefix(n);
    return true;
  }
  bool Name(std::string_view* out) {
    if (bytes_.empty() || bytes_.size() < size_t{1} + bytes_[0]) return false;
    const size_t n = bytes_[0];
    bytes_.remove_prefix(1);
    return Bytes(n, out);
  }
  // What is left (a term, a fragment's bytes).
  wire::ByteSpan rest() const { return bytes_; }
  bool done() const { return bytes_.empty(); }

 private:
  wire::ByteSpan bytes_;
};

}  // namespace snow::dist_internal
