// wire/limits.h — DecodeLimits and EncodeOptions: the bounds every STF decode enforces and the
// knobs of encoding (STF.md §8).
//
// Every byte a decoder sees may come from a hostile peer. Independently of these limits a
// decoder never allocates more than the remaining input can justify (a count or length larger
// than the bytes left is rejected before anything is reserved); the limits bound what a
// well-formed but huge or deep input may cost.
//
//   snow::wire::DecodeLimits limits;
//   limits.max_depth = 16;                 // this service only accepts flat messages
//   auto msg = snow::wire::Decode<Msg>(bytes, limits);
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

namespace snow::wire {

// Depth is the number of containers (list, tuple, map, set, struct, variant, some, ok) that
// enclose a value, counting the value itself if it is one. The decoders recurse once per level,
// so whatever the caller asks, depth is capped here to keep the stack small (~200 bytes/level).
inline constexpr uint32_t kHardMaxDepth = 1000;

// Format constants (STF.md): names are at most 255 bytes (one length byte), and only the first
// kMaxShapes struct/variant definitions of a term get an index that later references can use.
inline constexpr size_t kMaxNameBytes = 255;
inline constexpr uint32_t kMaxShapes = 4096;

// The default frame size is also the default input size: a decoder fed one frame never needs
// more.
inline constexpr uint32_t kDefaultMaxFrameBytes = 16u << 20;

struct DecodeLimits {
  // Deepest nesting accepted; values above kHardMaxDepth act as kHardMaxDepth. Exceeding it
  // gives kResourceExhausted.
  uint32_t max_depth = 128;
  // Total input, version byte included (kResourceExhausted).
  uint64_t max_input_bytes = kDefaultMaxFrameBytes;
  // One string or binary (kResourceExhausted). Names (atoms, type, field and node names) are at
  // most 255 bytes by construction of the format.
  uint64_t max_string_bytes = kDefaultMaxFrameBytes;
  // Items of one list, tuple, set, packed array, entries of one map, fields of one struct
  // (kResourceExhausted).
  uint64_t max_count = 1u << 20;
  // Sum of all the counts above over the whole input: bounds the memory a dynamic Term may take
  // (~48 bytes per item) whatever the shape of the input (kResourceExhausted).
  uint64_t max_total_items = 4u << 20;
};

class CodecContext;

// A large binary an encoding refers to instead of holding: its bytes belong at `offset` of the
// output buffer (the encoding goes on there after them).
struct BorrowedBytes {
  size_t offset = 0;
  std::string_view bytes;
};

struct EncodeOptions {
  // The encoder refuses (kInvalidArgument) to produce what a default decoder would reject for
  // depth, so a sender learns about it instead of the peer dropping the connection.
  uint32_t max_depth = DecodeLimits{}.max_depth;
  // Handed to Codec specialisations of foreign types (see codec.h); not used by wire itself.
  CodecContext* context = nullptr;
  // When set, a `Binary` of at least `borrow_from_bytes` is not copied: the encoding gets its
  // tag and length, and its bytes are listed here, to be sent from the value itself. For a caller
  // that owns the value until the bytes are out (dist/ sends large messages this way).
  std::vector<BorrowedBytes>* borrowed = nullptr;
  size_t borrow_from_bytes = 64 * 1024;
  // The shape key (Writer::WriteStructHeader) of a shape both ends agreed on before the term
  // (DefinedShape, reader.h): it is shape 0, so a struct or variant of that key is written as a
  // reference to it, and the term's own definitions are numbered from 1. The term must be read
  // with the same shape (Reader::UseDefinedShape).
  const void* defined_shape = nullptr;
};

}  // namespace snow::wire
