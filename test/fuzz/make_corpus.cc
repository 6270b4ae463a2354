// Writes the seed corpus of the fuzz targets: `fuzz_make_corpus <dir>` fills <dir>/<target>/.
// The committed corpus in test/fuzz/corpus was produced by this program.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "snow/test/fuzz/fuzz_message.h"

using namespace snow::wire;        // NOLINT
using namespace snow::wire::fuzz;  // NOLINT

namespace {

void Write(const std::filesystem::path& dir, int n, std::string_view bytes) {
  std::filesystem::create_directories(dir);
  char name[32];
  std::snprintf(name, sizeof(name), "seed_%03d", n);
  std::ofstream(dir / name, std::ios::binary).write(bytes.data(), static_cast<long>(bytes.size()));
}

std::string EncodeT(const Term& t) {
  ByteBuffer buf;
  FUZZ_CHECK(EncodeTerm(t, buf).ok());
  return buf.ToString();
}

Message Full() {
  Message m;
  m.seq = 1u << 20;
  m.small = -5;
  m.flag = true;
  m.ratio = 0.25;
  m.text = "h\xC3\xA9llo \xF0\x9F\x98\x80";
  m.payload.bytes = std::string("\x00\x01\xff", 3);
  m.tag.name = "ok";
  m.from = Pid{"b@127.0.0.1:4370", 7, 3, 12345};
  m.ref = Reference{"b@127.0.0.1:4370", 7, {1, 2, 3}};
  m.numbers = {0, -1, 300, 1LL << 40};
  m.samples = {1.5, -0.0};
  m.items = {{1, "one", std::nullopt}, {2, "two", std::vector<uint8_t>{9}}};
  m.item_set = {{3, "three", std::nullopt}};
  m.index = {{"k", {1, 2}}, {"", {}}};
  m.names = {{-1, "minus"}};
  m.triple = {true, "t", Unit{}};
  m.choice = Item{4, "four", std::nullopt};
  m.shape = Shape{Rect{2, 3}};
  m.shapes = {Shape{Circle{1}}, Shape{Rect{1, 1}}, Shape{Circle{2}}};
  m.tree.value = 1;
  m.tree.kids.resize(2);
  m.tree.next = std::make_unique<Node>();
  m.outcome = absl::NotFoundError("gone");
  m.status = absl::InternalError("boom");
  m.extra = Term::Map({{Term::Atom("a"), Term::List({Term::Int(1), Term::Int(2)})}});
  return m;
}

std::vector<Term> SampleTerms() {
  std::vector<Term> terms = {
      Term::Unit(),
      Term::Bool(true),
      Term::Int(-33),
      Term::Int(95),
      Term::Uint(1ull << 63),
      Term::Float(-0.0),
      Term::String("snow \xE2\x9D\x84"),
      Term::String(std::string(40, 'x')),
      Term::Binary(std::string("\x00\xff", 2)),
      Term::Atom("ok"),
      Term::Node("a@h:1"),
      Term::List({Term::Int(1), Term::Int(-1), Term::Int(300)}),
      Term::List({Term::Uint(1)}),
      Term::List({Term::Float(1.0), Term::Float(2.0)}),
      Term::List({Term::Bool(true), Term::String("x"), Term::List({})}),
      Term::Tuple({Term::Int(1), Term::String("x")}),
      Term::Set({Term::Atom("a"), Term::Atom("b")}),
      Term::Map({{Term::String("a"), Term::Int(1)}}),
      Term::Some(Term::None()),
      Term::Ok(Term::Unit()),
      Term::Error(5, "x"),
      Term::Pid(Pid{"a@h", 1, 2, 300}),
      Term::Reference(Reference{"a@h", 1, {7, 8}}),
      Term::List({Term::Struct("P", {{"x", Term::Int(1)}, {"y", Term::Int(2)}}),
                  Term::Struct("P", {{"x", Term::Int(3)}, {"y", Term::Int(4)}})}),
      Term::Variant("fuzz.Shape", "Circle", {{"r", Term::Float(1.0)}}),
  };
  Term deep = Term::Int(0);
  for (int i = 0; i < 20; ++i) deep = Term::List({deep, Term::Some(Term::Unit())});
  terms.push_back(deep);
  return terms;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
    return 2;
  }
  const std::filesystem::path root = argv[1];
  int n = 0;
  for (const Term& t : SampleTerms()) {
    Write(root / "term_decode", n, EncodeT(t));
    Write(root / "roundtrip", n, EncodeT(t));
    ++n;
  }
  const Message full = Full();
  Write(root / "term_decode", n, Bytes(full));
  Write(root / "roundtrip", n, Bytes(full));

  // Typed: the default and a full message, the full one with its fields in reverse order and an
  // extra field (through Term), and one with a field missing.
  int k = 0;
  Write(root / "typed_decode", k++, Bytes(Message{}));
  Write(root / "typed_decode", k++, Bytes(full));
  absl::StatusOr<Term> t = ToTerm(full);
  FUZZ_CHECK(t.ok());
  Term reversed = *t;
  std::reverse(reversed.mutable_fields().begin(), reversed.mutable_fields().end());
  reversed.mutable_fields().push_back({"unknown", Term::List({Term::Struct("X", {})})});
  Write(root / "typed_decode", k++, EncodeT(reversed));
  Term missing = *t;
  missing.mutable_fields().erase(missing.mutable_fields().begin() + 3);
  Write(root / "typed_decode", k++, EncodeT(missing));

  // Frames: two prefix bytes (max frame size selector, chunking step), then a stream.
  int f = 0;
  for (const std::string& prefix :
       {std::string("\x7f\x03", 2), std::string("\xff\x00", 2), std::string("\x10\x05", 2)}) {
    ByteBuffer stream;
    stream.Append(prefix);
    FUZZ_CHECK(EncodeFrame(Unit{}, stream).ok());
    FUZZ_CHECK(AppendFrame(ByteSpan(), stream).ok());
    FUZZ_CHECK(EncodeFrame(Term::String("frame"), stream).ok());
    FUZZ_CHECK(EncodeFrame(full, stream).ok());
    Write(root / "frame_decode", f++, stream.chars());
  }
  // Defined shapes: a u16 header length, Message's header, then a term written with it (the
  // default and the full message), and one whose header has the fields in reverse order.
  int d = 0;
  for (const Message* m : {&full, static_cast<const Message*>(nullptr)}) {
    Message empty;
    const Message& value = m != nullptr ? *m : empty;
    ByteBuffer plain;
    Writer w(plain);
    w.WriteVersion();
    EncodeValue(w, value);
    const void* key = nullptr;
    size_t begin = 0, end = 0;
    FUZZ_CHECK(w.TopLevelDefinition(&key, &begin, &end));
    FUZZ_CHECK(w.Finish().ok());
    ByteBuffer shaped;
    EncodeOptions options;
    options.defined_shape = key;
    FUZZ_CHECK(Encode(value, shaped, options).ok());
    const size_t length = end - begin;
    std::string seed = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
    seed.append(plain.chars().substr(begin, length));
    seed.append(shaped.chars());
    Write(root / "defined_shape", d++, seed);
  }
  {
    ByteBuffer plain;
    FUZZ_CHECK(EncodeTerm(reversed, plain).ok());
    // The reversed term's header: its tag after the version byte through its last field name.
    Reader r(plain.view());
    StructHeader h;
    FUZZ_CHECK(r.ReadVersion() && r.ReadStructHeader(&h));
    const size_t length = r.offset() - 1;
    std::string seed = {static_cast<char>(length & 0xff), static_cast<char>(length >> 8)};
    seed.append(plain.chars().substr(1, length));
    seed.append("\x01\x60");  // a term that refers to it; its values are cut short
    Write(root / "defined_shape", d++, seed);
  }
  std::printf("wrote %d term, %d typed, %d frame, %d defined-shape seeds under %s\n", n + 1, k, f,
              d, argv[1]);
  return 0;
}
