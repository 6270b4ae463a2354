#include "core/internal/actor_table.h"

#include <map>
#include <random>

#include "gtest/gtest.h"

namespace snow::core_internal {
namespace {

ActorCell* Fake(uint64_t serial) { return reinterpret_cast<ActorCell*>(serial * 16); }

TEST(ActorTableTest, AgreesWithStdMapUnderRandomInsertsAndErases) {
  ActorTable table;
  std::map<uint64_t, ActorCell*> model;
  std::mt19937_64 random(12345);
  uint64_t next = 1;
  for (int step = 0; step < 400'000; ++step) {
    uint64_t r = random() % 100;
    if (r < 55 || model.empty()) {
      // Serials as the runtime makes them: increasing, with a stride, from several origins.
      uint64_t serial = next * 3 + random() % 3;
      ++next;
      if (model.contains(serial)) continue;
      table.Insert(serial, Fake(serial));
      model[serial] = Fake(serial);
    } else {
      auto it = model.lower_bound(random() % (next * 3 + 3));
      if (it == model.end()) it = model.begin();
      table.Erase(it->first);
      model.erase(it);
    }
    if (step % 997 == 0) {
      ASSERT_EQ(table.size(), model.size());
      for (auto [serial, cell] : model) ASSERT_EQ(table.Find(serial), cell) << serial;
    }
    uint64_t probe = random() % (next * 3 + 3) + 1;
    ASSERT_EQ(table.Find(probe), model.contains(probe) ? model[probe] : nullptr) << probe;
  }
  std::size_t seen = 0;
  table.ForEach([&](ActorCell*) { ++seen; });
  EXPECT_EQ(seen, model.size());
}

TEST(ActorTableTest, EraseOfAbsentSerialChangesNothing) {
  ActorTable table;
  table.Insert(5, Fake(5));
  table.Erase(7);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find(5), Fake(5));
}

}  // namespace
}  // namespace snow::core_internal
