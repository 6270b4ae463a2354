// Property tests with a seeded PRNG: random Terms round-trip and re-encode to the same bytes;
// random typed objects agree with the dynamic path in both directions; randomly corrupted
// encodings never crash and the dynamic decoder and the typed skip path accept the same inputs.
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "gtest/gtest.h"
#include "snow/test/wire/test_util.h"
#include "snow/wire/wire.h"

namespace snow::wire {
namespace {

using testing::Hex;

class Gen {
 public:
  explicit Gen(uint64_t seed) : rng_(seed) {}

  uint64_t Below(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Coin() { return rng_() & 1; }

  // Integers spread over all magnitudes, with the fix-form edges likely.
  int64_t Int() {
    switch (Below(4)) {
      case 0:
        return static_cast<int64_t>(Below(140)) - 40;
      case 1:
        return static_cast<int64_t>(rng_() >> Below(64));
      case 2:
        return -static_cast<int64_t>(rng_() >> (1 + Below(63)));
      default:
        return static_cast<int64_t>(rng_());
    }
  }
  uint64_t Uint() { return rng_() >> Below(64); }
  double Float() {
    uint64_t bits = rng_();
    if (Coin()) bits &= 0xFFF0'0000'0000'0000ULL;  // short mantissas, infinities, zeros
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }

  // Valid UTF-8 with code points of every length (no surrogates).
  std::string Text(size_t max_len) {
    std::string s;
    const size_t n = Below(max_len + 1);
    while (s.size() < n) {
      uint32_t cp;
      switch (Below(5)) {
        case 0:
          cp = static_cast<uint32_t>(Below(0x80));
          break;
        case 1:
          cp = 0x80 + static_cast<uint32_t>(Below(0x800 - 0x80));
          break;
        case 2:
          cp = 0x800 + static_cast<uint32_t>(Below(0xD800 - 0x800));
          break;
        case 3:
          cp = 0x10000 + static_cast<uint32_t>(Below(0x110000 - 0x10000));
          break;
        default:
          cp = 'a' + static_cast<uint32_t>(Below(26));
          break;
      }
      AppendUtf8(s, cp);
    }
    return s;
  }
  std::string Bytes(size_t max_len) {
    std::string s(Below(max_len + 1), '\0');
    for (char& c : s) c = static_cast<char>(rng_());
    return s;
  }
  std::string Name() { return Coin() ? std::string(1, 'a' + Below(6)) : Text(12); }

  Term RandomTerm(int depth) {
    const uint64_t k = Below(depth > 0 ? 19 : 11);
    switch (k) {
      case 0:
        return Term::Unit();
      case 1:
        return Term::Bool(Coin());
      case 2:
        return Term::Int(Int());
      case 3:
        return Term::Uint(Uint());
      case 4:
        return Term::Float(Float());
      case 5:
        return Term::String(Text(Coin() ? 10 : 60));
      case 6:
        return Term::Binary(Bytes(40));
      case 7:
        return Term::Atom(Name());
      case 8:
        return Term::Node(Name() + "@" + Name());
      case 9:
        return Term::Pid(
            Pid{Name(), static_cast<uint32_t>(rng_()), static_cast<uint32_t>(Below(64)), Uint()});
      case 10: {
        Reference r{Name(), static_cast<uint32_t>(rng_()), {}};
        const size_t n = 1 + Below(kMaxReferenceWords);
        for (size_t i = 0; i < n; ++i) r.words.push_back(Uint());
        return Term::Reference(std::move(r));
      }
      case 11: {
        // Homogeneous number lists exercise the packed forms.
        const uint64_t flavour = Below(4);
        std::vector<Term> items(Below(20));
        for (Term& t : items) {
          t = flavour == 0   ? Term::Int(Int())
              : flavour == 1 ? Term::Uint(Uint())
              : flavour == 2 ? Term::Float(Float())
                             : RandomTerm(depth - 1);
        }
        return Term::List(std::move(items));
      }
      case 12:
        return Term::Tuple(Items(depth));
      case 13:
        return Term::Set(Items(depth));
      case 14: {
        std::vector<Term::Entry> entries(Below(Coin() ? 5 : 20));
        for (auto& [k2, v] : entries) {
          k2 = RandomTerm(depth - 1);
          v = RandomTerm(depth - 1);
        }
        return Term::Map(std::move(entries));
      }
      case 15:
      case 16: {
        // A few recurring shapes, so that shape references appear.
        static const std::vector<std::vector<std::string>> kLayouts = {
            {}, {"x"}, {"x", "y"}, {"id", "name", "tags", "next"}};
        const bool variant = k == 16;
        const auto& layout = kLayouts[Below(kLayouts.size())];
        std::vector<Term::Field> fields;
        if (Below(5) == 0) {
          std::set<std::string> names;
          for (size_t i = Below(20); i > 0; --i) names.insert(Name());
          for (const std::string& n : names) fields.push_back({n, RandomTerm(depth - 1)});
        } else {
          for (const std::string& n : layout) fields.push_back({n, RandomTerm(depth - 1)});
        }
        const std::string type = Below(3) == 0 ? Name() : (Coin() ? "T" : "U");
        return variant ? Term::Variant(type, Coin() ? "A" : "B", std::move(fields))
                       : Term::Struct(type, std::move(fields));
      }
      case 17:
        return Coin() ? Term::None() : Term::Some(RandomTerm(depth - 1));
      default:
        return Coin() ? Term::Ok(RandomTerm(depth - 1))
                      : Term::Error(1 + static_cast<uint32_t>(Below(20)), Text(20));
    }
  }

 private:
  static void AppendUtf8(std::string& s, uint32_t cp) {
    if (cp < 0x80) {
      s.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      s.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      s.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      s.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      s.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }
  std::vector<Term> Items(int depth) {
    std::vector<Term> items(Below(Coin() ? 4 : 18));
    for (Term& t : items) t = RandomTerm(depth - 1);
    return items;
  }

  std::mt19937_64 rng_;
};

TEST(PropertyTest, RandomTermsRoundTripAndReencodeToTheSameBytes) {
  Gen g(20240601);
  for (int i = 0; i < 3000; ++i) {
    const Term t = g.RandomTerm(static_cast<int>(g.Below(6)));
    ByteBuffer buf;
    ASSERT_TRUE(EncodeTerm(t, buf).ok()) << t.ToString();
    absl::StatusOr<Term> back = DecodeTerm(buf.view());
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << t.ToString();
    ASSERT_EQ(*back, t) << Hex(buf.view());
    ByteBuffer again;
    ASSERT_TRUE(EncodeTerm(*back, again).ok());
    ASSERT_EQ(Hex(again.view()), Hex(buf.view()));
    // The typed path's Term codec reads the same bytes to the same value.
    absl::StatusOr<Term> typed = Decode<Term>(buf);
    ASSERT_TRUE(typed.ok());
    ASSERT_EQ(*typed, t);
  }
}

struct Small {
  static constexpr std::string_view kWireName = "prop.Small";
  int16_t a = 0;
  std::string b;
  friend auto WireFields(Small& s) { return Fields("a", s.a, "b", s.b); }
  friend bool operator==(const Small&, const Small&) = default;
  friend bool operator<(const Small& x, const Small& y) {
    return std::tie(x.a, x.b) < std::tie(y.a, y.b);
  }
};

struct Big {
  static constexpr std::string_view kWireName = "prop.Big";
  int64_t i = 0;
  uint32_t u = 0;
  double d = 0;
  bool flag = false;
  std::string text;
  Binary blob;
  std::optional<std::vector<int16_t>> maybe;
  std::map<std::string, std::vector<Small>> groups;
  std::set<int64_t> ids;
  std::variant<std::monostate, std::string, Small, std::vector<uint64_t>> choice;
  std::vector<bool> bits;
  std::tuple<int8_t, std::string, std::optional<Small>> triple;
  Pid pid;
  absl::StatusOr<Small> outcome = Small{};
  std::vector<double> samples;
  std::set<Small> unique;
  friend auto WireFields(Big& b) {
    return Fields("i", b.i, "u", b.u, "d", b.d, "flag", b.flag, "text", b.text, "blob", b.blob,
                  "maybe", b.maybe, "groups", b.groups, "ids", b.ids, "choice", b.choice, "bits",
                  b.bits, "triple", b.triple, "pid", b.pid, "outcome", b.outcome, "samples",
                  b.samples, "unique", b.unique);
  }
  friend bool operator==(const Big& x, const Big& y) {
    auto tie = [](const Big& b) {
      return std::tie(b.i, b.u, b.flag, b.text, b.blob, b.maybe, b.groups, b.ids, b.choice, b.bits,
                      b.triple, b.pid, b.outcome, b.unique);
    };
    const bool same_d = std::memcmp(&x.d, &y.d, 8) == 0;
    const bool same_samples = x.samples.size() == y.samples.size() &&
                              (x.samples.empty() || std::memcmp(x.samples.data(), y.samples.data(),
                                                                8 * x.samples.size()) == 0);
    return same_d && same_samples && tie(x) == tie(y);
  }
};

Small RandomSmall(Gen& g) { return Small{static_cast<int16_t>(g.Int()), g.Text(8)}; }

Big RandomBig(Gen& g) {
  Big b;
  b.i = g.Int();
  b.u = static_cast<uint32_t>(g.Uint());
  b.d = g.Float();
  b.flag = g.Coin();
  b.text = g.Text(40);
  b.blob.bytes = g.Bytes(50);
  if (g.Coin()) {
    b.maybe.emplace(g.Below(10));
    for (int16_t& x : *b.maybe) x = static_cast<int16_t>(g.Int());
  }
  for (size_t n = g.Below(4); n > 0; --n) {
    auto& v = b.groups[g.Text(5)];
    for (size_t m = g.Below(4); m > 0; --m) v.push_back(RandomSmall(g));
  }
  for (size_t n = g.Below(8); n > 0; --n) b.ids.insert(g.Int());
  switch (g.Below(4)) {
    case 0:
      break;
    case 1:
      b.choice = g.Text(5);
      break;
    case 2:
      b.choice = RandomSmall(g);
      break;
    default:
      b.choice = std::vector<uint64_t>(g.Below(5), g.Uint());
      break;
  }
  for (size_t n = g.Below(10); n > 0; --n) b.bits.push_back(g.Coin());
  b.triple = {static_cast<int8_t>(g.Int()), g.Text(3),
              g.Coin() ? std::optional<Small>(RandomSmall(g)) : std::nullopt};
  b.pid =
      Pid{g.Text(10), static_cast<uint32_t>(g.Uint()), static_cast<uint32_t>(g.Below(8)), g.Uint()};
  if (g.Coin()) {
    b.outcome = RandomSmall(g);
  } else {
    b.outcome = absl::Status(static_cast<absl::StatusCode>(1 + g.Below(16)), g.Text(10));
  }
  for (size_t n = g.Below(6); n > 0; --n) b.samples.push_back(g.Float());
  for (size_t n = g.Below(4); n > 0; --n) b.unique.insert(RandomSmall(g));
  return b;
}

TEST(PropertyTest, TypedAndDynamicAgreeInBothDirections) {
  Gen g(77);
  for (int i = 0; i < 1000; ++i) {
    const std::vector<Big> value = {RandomBig(g), RandomBig(g)};
    ByteBuffer typed;
    ASSERT_TRUE(Encode(value, typed).ok());
    // typed bytes -> Term -> the same bytes -> typed value.
    absl::StatusOr<Term> term = DecodeTerm(typed.view());
    ASSERT_TRUE(term.ok()) << term.status();
    ByteBuffer dynamic;
    ASSERT_TRUE(EncodeTerm(*term, dynamic).ok());
    ASSERT_EQ(Hex(dynamic.view()), Hex(typed.view())) << term->ToString();
    absl::StatusOr<std::vector<Big>> back = Decode<std::vector<Big>>(dynamic);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_TRUE(*back == value);
    // And the convenience conversions agree with that.
    absl::StatusOr<Term> via = ToTerm(value);
    ASSERT_TRUE(via.ok());
    ASSERT_EQ(*via, *term);
    absl::StatusOr<std::vector<Big>> from = FromTerm<std::vector<Big>>(*term);
    ASSERT_TRUE(from.ok()) << from.status();
    ASSERT_TRUE(*from == value);
  }
}

// Validates bytes the way a typed decoder skips an unknown field.
absl::Status SkipValidate(ByteSpan bytes) {
  Reader r(bytes);
  if (r.ReadVersion() && r.Skip()) r.ExpectEnd();
  return r.status();
}

TEST(PropertyTest, CorruptedEncodingsNeverCrashAndBothDecodersAgree) {
  Gen g(4242);
  int accepted = 0, rejected = 0;
  for (int i = 0; i < 20000; ++i) {
    const Term t = g.RandomTerm(static_cast<int>(g.Below(5)));
    ByteBuffer buf;
    ASSERT_TRUE(EncodeTerm(t, buf).ok());
    std::string bytes(buf.chars());
    // Flip, insert, delete or truncate a few bytes.
    for (size_t n = 1 + g.Below(3); n > 0 && !bytes.empty(); --n) {
      const size_t at = g.Below(bytes.size());
      switch (g.Below(4)) {
        case 0:
          bytes[at] = static_cast<char>(g.Below(256));
          break;
        case 1:
          bytes.insert(bytes.begin() + static_cast<ptrdiff_t>(at), static_cast<char>(g.Below(256)));
          break;
        case 2:
          bytes.erase(at, 1);
          break;
        default:
          bytes.resize(at);
          break;
      }
    }
    const absl::StatusOr<Term> d = DecodeTerm(bytes);
    const absl::Status skip = SkipValidate(AsBytes(bytes));
    ASSERT_EQ(d.ok(), skip.ok()) << Hex(bytes) << "\n" << d.status() << "\n" << skip;
    if (!d.ok()) {
      ++rejected;
      // Same error; only the dynamic decoder adds the ", in <path>" suffix.
      ASSERT_EQ(d.status().code(), skip.code());
      const std::string with_path(d.status().message());
      ASSERT_EQ(with_path.substr(0, with_path.find(", in ")), std::string(skip.message()));
      const auto code = d.status().code();
      ASSERT_TRUE(code == absl::StatusCode::kDataLoss ||
                  code == absl::StatusCode::kResourceExhausted)
          << d.status();
      continue;
    }
    ++accepted;
    ByteBuffer again;
    ASSERT_TRUE(EncodeTerm(*d, again).ok()) << d->ToString();
    absl::StatusOr<Term> twice = DecodeTerm(again.view());
    ASSERT_TRUE(twice.ok());
    ASSERT_EQ(*twice, *d);
  }
  // Both outcomes must actually have been exercised.
  EXPECT_GT(accepted, 1000);
  EXPECT_GT(rejected, 1000);
}

}  // namespace
}  // namespace snow::wire
