#include "core/internal/actor_table.h"

#include <map>
#include <memory>
#include <random>

#include "gtest/gtest.h"

namespace snow::core_internal {
namespace {

// Cells that live as long as the test: the table reads each one's serial.
class Cells {
 public:
  ActorCell* operator()(uint64_t serial) {
    std::unique_ptr<ActorCell>& cell = cells_[serial];
    if (cell == nullptr) {
      cell = std::make_unique<ActorCell>();
      cell->pid = Pid::FromParts(0, 0, serial);
    }
    return cell.get();
  }

 private:
  std::map<uint64_t, std::unique_ptr<ActorCell>> cells_;
};

TEST(ActorTableTest, AgreesWithStdMapUnderRandomInsertsAndErases) {
  Cells cell_for;
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
      table.Insert(cell_for(serial));
      model[serial] = cell_for(serial);
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

// Growth-heavy: a table doubling many times over entries that outlive several doublings (their
// placement hints run out), that were displaced, or that were moved by an erase.
TEST(ActorTableTest, AgreesWithStdMapWhileGrowingFromFewToMany) {
  Cells cell_for;
  ActorTable table;
  std::map<uint64_t, ActorCell*> model;
  std::mt19937_64 random(777);
  uint64_t next = 1;
  auto insert = [&](uint64_t serial) {
    if (model.contains(serial)) return;
    table.Insert(cell_for(serial));
    model[serial] = cell_for(serial);
  };
  for (int step = 0; step < 300'000; ++step) {
    // Mostly in sequence from one origin (stride 2), some from far-off origins, a few erases.
    uint64_t r = random() % 100;
    if (r < 80) {
      insert(2 * next++);
    } else if (r < 90) {
      insert((uint64_t{1} << 30) + random() % (uint64_t{1} << 36));
    } else if (!model.empty()) {
      auto it = model.lower_bound(random() % (2 * next + 2));
      if (it == model.end()) it = model.begin();
      table.Erase(it->first);
      model.erase(it);
    }
    if ((step & (step - 1)) == 0 || step % 9973 == 0) {
      ASSERT_EQ(table.size(), model.size());
      for (auto [serial, cell] : model) ASSERT_EQ(table.Find(serial), cell) << serial;
    }
  }
  for (auto [serial, cell] : model) ASSERT_EQ(table.Find(serial), cell) << serial;
  EXPECT_EQ(table.Find(2 * next + 2), nullptr);
}

TEST(ActorTableTest, EraseOfAbsentSerialChangesNothing) {
  Cells cell_for;
  ActorTable table;
  table.Insert(cell_for(5));
  table.Erase(7);
  EXPECT_EQ(table.size(), 1u);
  EXPECT_EQ(table.Find(5), cell_for(5));
}

}  // namespace
}  // namespace snow::core_internal
