// test/fuzz/fuzz_message.h — the representative typed message the typed fuzz targets decode into
// (every codec family: scalars, text, containers, optional, untagged and named variants, nested
// and recursive structs, pids, results), plus a CHECK that crashes the fuzzer on a broken
// invariant.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "snow/wire/wire.h"

#define FUZZ_CHECK(cond)                                                                 \
  do {                                                                                   \
    if (!(cond)) {                                                                       \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                      \
    }                                                                                    \
  } while (0)

namespace snow::wire::fuzz {

struct Item {
  static constexpr std::string_view kWireName = "fuzz.Item";
  int32_t id = 0;
  std::string name;
  std::optional<std::vector<uint8_t>> blob;
  friend auto WireFields(Item& i) { return Fields("id", i.id, "name", i.name, "blob", i.blob); }
  friend bool operator==(const Item&, const Item&) = default;
  friend bool operator<(const Item& a, const Item& b) { return a.id < b.id; }
};

struct Node {
  static constexpr std::string_view kWireName = "fuzz.Node";
  int64_t value = 0;
  std::vector<Node> kids;
  std::unique_ptr<Node> next;
  friend auto WireFields(Node& n) {
    return Fields("value", n.value, "kids", n.kids, "next", n.next);
  }
  Node() = default;
  Node(const Node& o) : value(o.value), kids(o.kids) {
    if (o.next) next = std::make_unique<Node>(*o.next);
  }
  Node& operator=(const Node& o) {
    Node copy(o);
    value = copy.value;
    kids = std::move(copy.kids);
    next = std::move(copy.next);
    return *this;
  }
  friend bool operator==(const Node& a, const Node& b) {
    return a.value == b.value && a.kids == b.kids && (a.next == nullptr) == (b.next == nullptr) &&
           (a.next == nullptr || *a.next == *b.next);
  }
};

struct Circle {
  static constexpr std::string_view kWireName = "Circle";
  double r = 0;
  friend auto WireFields(Circle& c) { return Fields("r", c.r); }
};
struct Rect {
  static constexpr std::string_view kWireName = "Rect";
  int64_t w = 0, h = 0;
  friend auto WireFields(Rect& r) { return Fields("w", r.w, "h", r.h); }
  friend bool operator==(const Rect&, const Rect&) = default;
};
struct Shape : std::variant<Circle, Rect> {
  using variant::variant;
  static constexpr std::string_view kWireName = "fuzz.Shape";
};

struct Message {
  static constexpr std::string_view kWireName = "fuzz.Message";
  uint64_t seq = 0;
  int8_t small = 0;
  bool flag = false;
  double ratio = 0;
  std::string text;
  Binary payload;
  Atom tag;
  Pid from;
  Reference ref;
  std::vector<int64_t> numbers;
  std::vector<double> samples;
  std::vector<Item> items;
  std::set<Item> item_set;
  std::map<std::string, std::vector<uint16_t>> index;
  absl::flat_hash_map<int64_t, std::string> names;
  std::tuple<bool, std::string, Unit> triple;
  std::variant<std::monostate, int64_t, std::string, Item> choice;
  std::optional<Shape> shape;
  std::vector<Shape> shapes;
  Node tree;
  absl::StatusOr<Item> outcome = Item{};
  absl::Status status;
  Term extra;
  friend auto WireFields(Message& m) {
    return Fields("seq", m.seq, "small", m.small, "flag", m.flag, "ratio", m.ratio, "text", m.text,
                  "payload", m.payload, "tag", m.tag, "from", m.from, "ref", m.ref, "numbers",
                  m.numbers, "samples", m.samples, "items", m.items, "item_set", m.item_set,
                  "index", m.index, "names", m.names, "triple", m.triple, "choice", m.choice,
                  "shape", m.shape, "shapes", m.shapes, "tree", m.tree, "outcome", m.outcome,
                  "status", m.status, "extra", m.extra);
  }
};

// Equality through the canonical bytes (floats and NaNs compare bit for bit that way).
inline std::string Bytes(const Message& m) {
  ByteBuffer buf;
  FUZZ_CHECK(Encode(m, buf).ok());
  return buf.ToString();
}

}  // namespace snow::wire::fuzz
