// ReadMostly: readers always see a live object while writers replace it.
#include "engine/read_mostly.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>
#include <vector>

namespace limify {
namespace {

// Poisoned on destruction, so a reader of a freed object sees it (and ASan
// reports the use after free outright).
struct Canary {
  explicit Canary(int v) : value(v) {}
  ~Canary() { alive.store(false); }
  std::atomic<bool> alive{true};
  int value;
};

TEST(ReadMostlyTest, ReplaceWaitsForThePinsOfTheOldObject) {
  ReadMostly<Canary> cell(std::make_unique<Canary>(0));
  std::optional<ReadMostly<Canary>::Pin> pin;
  pin.emplace(cell);
  std::atomic<bool> replaced{false};
  std::thread writer([&] {
    cell.Replace(std::make_unique<Canary>(1));
    replaced.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(replaced.load()) << "the old object was freed under a pin";
  EXPECT_TRUE((*pin)->alive.load());
  EXPECT_EQ((*pin)->value, 0);
  pin.reset();
  writer.join();
  EXPECT_TRUE(replaced.load());
  pin.emplace(cell);
  EXPECT_EQ((*pin)->value, 1);
}

TEST(ReadMostlyTest, ReadersNeverSeeAFreedObjectUnderConstantReplacement) {
  ReadMostly<Canary> cell(std::make_unique<Canary>(0));
  std::atomic<bool> stop{false};
  std::atomic<int> dead_seen{0};
  std::atomic<long> reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&] {
      while (!stop.load()) {
        ReadMostly<Canary>::Pin pin(cell);
        if (!pin->alive.load()) dead_seen.fetch_add(1);
        std::this_thread::yield();  // hold the pin across a possible replacement
        if (!pin->alive.load()) dead_seen.fetch_add(1);
        reads.fetch_add(1);
      }
    });
  }
  while (reads.load() < 100) std::this_thread::yield();
  for (int i = 1; i <= 500; ++i) cell.Replace(std::make_unique<Canary>(i));
  stop.store(true);
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(dead_seen.load(), 0);
  ReadMostly<Canary>::Pin last(cell);
  EXPECT_EQ(last->value, 500);
}

}  // namespace
}  // namespace limify
