// perf/wire_benchmark.cc — STF (wire/, typed path) against msgpack-cxx on the same data, in the
// same run: encode and decode of
//   small   a struct of an int, a 16-byte string and a pid
//   ints    a list of 1,000 ints (mixed magnitudes and signs, seeded)
//   map     a map of 100 string -> int
//   binary  a 1 MiB binary
//   nested  a deeply nested term: a 60-level tree (each level a leaf and a deeper child)
// Counter `bytes` is the encoded size. Both sides reuse their output buffer across iterations and
// decode into a fresh object each time. msgpack runs in its fastest configuration: a reused zone
// and a reference function, so unpacking never copies strings or binaries into the zone (the
// convert step copies them into the object, as STF's decode does). Structs use
// MSGPACK_DEFINE_MAP: field names on the wire, as STF carries them (matching by name); the pid is
// a plain 4-element array. STF additionally carries each struct's type name, which msgpack has no
// place for.
//
//   build-wire/perf/wire_benchmark --benchmark_counters_tabular=true
#include <benchmark/benchmark.h>

#include <cstdint>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "snow/wire/wire.h"

#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wunused-parameter"
#else
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wclass-memaccess"
#endif
#include <msgpack.hpp>
#if defined(__clang__)
#pragma clang diagnostic pop
#else
#pragma GCC diagnostic pop
#endif

namespace {

namespace wire = snow::wire;

// ---- The data, once per representation -----------------------------------------------------

struct Small {
  static constexpr std::string_view kWireName = "Small";
  int64_t id = 0;
  std::string key;
  wire::Pid from;
  friend auto WireFields(Small& s) {
    return wire::Fields("id", s.id, "key", s.key, "from", s.from);
  }
};

struct Tree {
  static constexpr std::string_view kWireName = "bench.Tree";
  int64_t value = 0;
  std::vector<Tree> kids;
  friend auto WireFields(Tree& t) { return wire::Fields("value", t.value, "kids", t.kids); }
};

struct MpPid {
  std::string node;
  uint32_t creation = 0;
  uint32_t shard = 0;
  uint64_t serial = 0;
  MSGPACK_DEFINE(node, creation, shard, serial);
};

struct MpSmall {
  int64_t id = 0;
  std::string key;
  MpPid from;
  MSGPACK_DEFINE_MAP(id, key, from);
};

struct MpTree {
  int64_t value = 0;
  std::vector<MpTree> kids;
  MSGPACK_DEFINE_MAP(value, kids);
};

constexpr int kTreeDepth = 60;  // 60 structs + 60 lists deep: 120 levels, under the 128 default

Small MakeSmall() {
  return Small{123456789, "0123456789abcdef", wire::Pid{"b@127.0.0.1:4370", 1700000000, 3, 987654}};
}
MpSmall MakeMpSmall() {
  const Small s = MakeSmall();
  return MpSmall{s.id, s.key, MpPid{s.from.node, s.from.creation, s.from.shard, s.from.serial}};
}

// Seeded ints of every magnitude up to 32 bits, both signs.
std::vector<int64_t> MakeInts() {
  std::mt19937_64 rng(1);
  std::vector<int64_t> v(1000);
  for (int64_t& x : v) {
    const int bits = static_cast<int>(rng() % 32);
    x = static_cast<int64_t>(rng() & ((uint64_t{1} << bits) - 1));
    if (rng() & 1) x = -x;
  }
  return v;
}

std::map<std::string, int64_t> MakeMap() {
  const std::vector<int64_t> ints = MakeInts();
  std::map<std::string, int64_t> m;
  for (int i = 0; i < 100; ++i) {
    char key[16];
    std::snprintf(key, sizeof(key), "key_%03d", i);
    m[key] = ints[static_cast<size_t>(i)];
  }
  return m;
}

std::string MakeBinary() {
  std::string b(1 << 20, '\0');
  std::mt19937_64 rng(2);
  for (char& c : b) c = static_cast<char>(rng());
  return b;
}

template <class T>
T MakeTree(int depth) {
  T t;
  t.value = depth;
  if (depth > 1) {
    T leaf;
    leaf.value = -depth;
    t.kids.push_back(std::move(leaf));
    t.kids.push_back(MakeTree<T>(depth - 1));
  }
  return t;
}

bool ReferenceAll(msgpack::type::object_type, std::size_t, void*) { return true; }

// ---- Generic drivers -------------------------------------------------------------------------

template <class T>
void SnowEncode(benchmark::State& state, const T& value) {
  wire::ByteBuffer buf;
  for (auto _ : state) {
    buf.clear();
    if (!wire::Encode(value, buf).ok()) state.SkipWithError("encode failed");
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}

template <class T>
void SnowDecode(benchmark::State& state, const T& value) {
  wire::ByteBuffer buf;
  if (!wire::Encode(value, buf).ok()) state.SkipWithError("encode failed");
  for (auto _ : state) {
    absl::StatusOr<T> out = wire::Decode<T>(buf);
    if (!out.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}

template <class T>
void MsgpackEncode(benchmark::State& state, const T& value) {
  msgpack::sbuffer buf;
  for (auto _ : state) {
    buf.clear();
    msgpack::pack(buf, value);
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}

template <class T>
void MsgpackDecode(benchmark::State& state, const T& value) {
  msgpack::sbuffer buf;
  msgpack::pack(buf, value);
  msgpack::zone zone;
  for (auto _ : state) {
    zone.clear();
    msgpack::object obj = msgpack::unpack(zone, buf.data(), buf.size(), ReferenceAll);
    T out;
    obj.convert(out);
    benchmark::DoNotOptimize(out);
  }
  state.counters["bytes"] = static_cast<double>(buf.size());
}

// ---- Cases -----------------------------------------------------------------------------------

void BM_Small_Snow_Encode(benchmark::State& s) { SnowEncode(s, MakeSmall()); }
void BM_Small_Snow_Decode(benchmark::State& s) { SnowDecode(s, MakeSmall()); }
void BM_Small_Msgpack_Encode(benchmark::State& s) { MsgpackEncode(s, MakeMpSmall()); }
void BM_Small_Msgpack_Decode(benchmark::State& s) { MsgpackDecode(s, MakeMpSmall()); }

void BM_Ints_Snow_Encode(benchmark::State& s) { SnowEncode(s, MakeInts()); }
void BM_Ints_Snow_Decode(benchmark::State& s) { SnowDecode(s, MakeInts()); }
void BM_Ints_Msgpack_Encode(benchmark::State& s) { MsgpackEncode(s, MakeInts()); }
void BM_Ints_Msgpack_Decode(benchmark::State& s) { MsgpackDecode(s, MakeInts()); }

void BM_Map_Snow_Encode(benchmark::State& s) { SnowEncode(s, MakeMap()); }
void BM_Map_Snow_Decode(benchmark::State& s) { SnowDecode(s, MakeMap()); }
void BM_Map_Msgpack_Encode(benchmark::State& s) { MsgpackEncode(s, MakeMap()); }
void BM_Map_Msgpack_Decode(benchmark::State& s) { MsgpackDecode(s, MakeMap()); }

void BM_Binary_Snow_Encode(benchmark::State& s) { SnowEncode(s, wire::Binary{MakeBinary()}); }
void BM_Binary_Snow_Decode(benchmark::State& s) { SnowDecode(s, wire::Binary{MakeBinary()}); }
void BM_Binary_Msgpack_Encode(benchmark::State& s) {
  const std::string b = MakeBinary();
  MsgpackEncode(s, std::vector<char>(b.begin(), b.end()));
}
void BM_Binary_Msgpack_Decode(benchmark::State& s) {
  const std::string b = MakeBinary();
  MsgpackDecode(s, std::vector<char>(b.begin(), b.end()));
}

void BM_Nested_Snow_Encode(benchmark::State& s) { SnowEncode(s, MakeTree<Tree>(kTreeDepth)); }
void BM_Nested_Snow_Decode(benchmark::State& s) { SnowDecode(s, MakeTree<Tree>(kTreeDepth)); }
void BM_Nested_Msgpack_Encode(benchmark::State& s) {
  MsgpackEncode(s, MakeTree<MpTree>(kTreeDepth));
}
void BM_Nested_Msgpack_Decode(benchmark::State& s) {
  MsgpackDecode(s, MakeTree<MpTree>(kTreeDepth));
}

BENCHMARK(BM_Small_Snow_Encode);
BENCHMARK(BM_Small_Msgpack_Encode);
BENCHMARK(BM_Small_Snow_Decode);
BENCHMARK(BM_Small_Msgpack_Decode);
BENCHMARK(BM_Ints_Snow_Encode);
BENCHMARK(BM_Ints_Msgpack_Encode);
BENCHMARK(BM_Ints_Snow_Decode);
BENCHMARK(BM_Ints_Msgpack_Decode);
BENCHMARK(BM_Map_Snow_Encode);
BENCHMARK(BM_Map_Msgpack_Encode);
BENCHMARK(BM_Map_Snow_Decode);
BENCHMARK(BM_Map_Msgpack_Decode);
BENCHMARK(BM_Binary_Snow_Encode);
BENCHMARK(BM_Binary_Msgpack_Encode);
BENCHMARK(BM_Binary_Snow_Decode);
BENCHMARK(BM_Binary_Msgpack_Decode);
BENCHMARK(BM_Nested_Snow_Encode);
BENCHMARK(BM_Nested_Msgpack_Encode);
BENCHMARK(BM_Nested_Snow_Decode);
BENCHMARK(BM_Nested_Msgpack_Decode);

}  // namespace

BENCHMARK_MAIN();
