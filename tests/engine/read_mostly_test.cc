// ReadMostly: readers always see a live object while writers replace it.
#include "engine/read_mostly.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <new>
#include <optional>
#include <thread>
#include <vector>

namespace limify {
namespace {

// Marked dead on destruction. Its memory comes from a pool that is never
// reused, so a reader holding a freed canary reliably sees `alive == false`
// (a real allocator would hand the chunk straight to the next canary).
struct Canary {
  static constexpr size_t kPool = 4096;

  explicit Canary(int v) : value(v) {}
  ~Canary() { alive.store(false); }

  static void* operator new(size_t size) {
    static_assert(sizeof(Canary) <= 64);
    const size_t i = next.fetch_add(1);
    if (i >= kPool || size > 64) throw std::bad_alloc();
    return &pool[i * 64];
  }
  static void operator delete(void*) {}  // parked: never reused

  std::atomic<bool> alive{true};
  int value;

  alignas(64) static inline unsigned char pool[kPool * 64];
  static inline std::atomic<size_t> next{0};
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

// Holds a reader between reading the epoch and counting itself in.
struct StallingHooks {
  static inline std::atomic<bool> armed{false};
  static inline std::atomic<bool> stalled{false};
  static inline std::atomic<bool> release{false};
  static void BetweenEpochAndCount() {
    if (!armed.exchange(false)) return;
    stalled.store(true);
    while (!release.load()) std::this_thread::yield();
  }
};

TEST(ReadMostlyTest, ReaderStalledAcrossAReplacementIsStillProtected) {
  // A reader reads the epoch and stalls; a replacement completes meanwhile.
  // When the reader counts itself in, the next replacement must wait for it.
  ReadMostly<Canary, StallingHooks> cell(std::make_unique<Canary>(0));
  StallingHooks::armed.store(true);
  std::atomic<bool> pinned{false}, done{false};
  std::atomic<int> seen_alive_after_second_replace{-1};
  std::thread reader([&] {
    ReadMostly<Canary, StallingHooks>::Pin pin(cell);
    pinned.store(true);
    while (!done.load()) std::this_thread::yield();
    seen_alive_after_second_replace.store(pin->alive.load() ? 1 : 0);
  });
  while (!StallingHooks::stalled.load()) std::this_thread::yield();
  cell.Replace(std::make_unique<Canary>(1));  // nobody counted: completes
  StallingHooks::release.store(true);
  while (!pinned.load()) std::this_thread::yield();
  std::atomic<bool> second_done{false};
  std::thread writer([&] {
    cell.Replace(std::make_unique<Canary>(2));  // must wait for the reader's pin
    second_done.store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(second_done.load()) << "the reader's object was replaced and freed under its pin";
  done.store(true);
  reader.join();
  writer.join();
  EXPECT_EQ(seen_alive_after_second_replace.load(), 1);
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
        const int seen = pin->value;
        if (!pin->alive.load()) dead_seen.fetch_add(1);
        std::this_thread::yield();  // hold the pin across a possible replacement
        if (!pin->alive.load() || pin->value != seen) dead_seen.fetch_add(1);
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
