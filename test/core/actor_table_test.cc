#include "snow/core/internal/actor_table.h"

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

// A table and a std::map that must agree, changed together.
class ModelledTable {
 public:
  void Insert(uint64_t serial) {
    if (model_.contains(serial)) return;
    table_.Insert(cell_for_(serial));
    model_[serial] = cell_for_(serial);
  }
  // Erases the first serial at or after `from` (or the first of all).
  void EraseFrom(uint64_t from) {
    if (model_.empty()) return;
    auto it = model_.lower_bound(from);
    if (it == model_.end()) it = model_.begin();
    table_.Erase(it->first);
    model_.erase(it);
  }
  void ExpectAgreement() const {
    ASSERT_EQ(table_.size(), model_.size());
    for (auto [serial, cell] : model_) ASSERT_EQ(table_.Find(serial), cell) << serial;
  }
  void ExpectFinds(uint64_t serial) const {
    auto it = model_.find(serial);
    ASSERT_EQ(table_.Find(serial), it != model_.end() ? it->second : nullptr) << serial;
  }
  const ActorTable& table() const { return table_; }
  std::size_t size() const { return model_.size(); }

 private:
  Cells cell_for_;
  ActorTable table_;
  std::map<uint64_t, ActorCell*> model_;
};

TEST(ActorTableTest, AgreesWithStdMapUnderRandomInsertsAndErases) {
  ModelledTable t;
  std::mt19937_64 random(12345);
  uint64_t next = 1;
  for (int step = 0; step < 400'000; ++step) {
    if (random() % 100 < 55 || t.size() == 0) {
      // Serials as the runtime makes them: increasing, with a stride, from several origins.
      t.Insert(next * 3 + random() % 3);
      ++next;
    } else {
      t.EraseFrom(random() % (next * 3 + 3));
    }
    if (step % 997 == 0) {
      ASSERT_NO_FATAL_FAILURE(t.ExpectAgreement());
    }
    ASSERT_NO_FATAL_FAILURE(t.ExpectFinds(random() % (next * 3 + 3) + 1));
  }
  std::size_t seen = 0;
  t.table().ForEach([&](ActorCell*) { ++seen; });
  EXPECT_EQ(seen, t.size());
}

// Growth-heavy: a table doubling many times over entries that outlive several doublings (their
// placement hints run out), that were displaced, or that were moved by an erase.
TEST(ActorTableTest, AgreesWithStdMapWhileGrowingFromFewToMany) {
  ModelledTable t;
  std::mt19937_64 random(777);
  uint64_t next = 1;
  for (int step = 0; step < 300'000; ++step) {
    // Mostly in sequence from one origin (stride 2), some from far-off origins, a few erases.
    uint64_t r = random() % 100;
    if (r < 80) {
      t.Insert(2 * next++);
    } else if (r < 90) {
      t.Insert((uint64_t{1} << 30) + random() % (uint64_t{1} << 36));
    } else {
      t.EraseFrom(random() % (2 * next + 2));
    }
    if ((step & (step - 1)) == 0 || step % 9973 == 0) {
      ASSERT_NO_FATAL_FAILURE(t.ExpectAgreement());
    }
  }
  ASSERT_NO_FATAL_FAILURE(t.ExpectAgreement());
  ASSERT_NO_FATAL_FAILURE(t.ExpectFinds(2 * next + 2));
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
