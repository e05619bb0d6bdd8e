// ReadMostly<T>: a published object that many threads read on every request
// and one writer replaces rarely (hot reload).
//
// Readers pin the current object without touching a shared reference count:
// each pins by incrementing a counter in one of a few cache-line-sized slots
// chosen per thread, under the current epoch's parity. The writer swaps the
// pointer, flips the epoch, and waits until every reader pinned under the old
// parity has left before deleting the old object (a grace period, as in RCU).
// Reads cost three uncontended atomic operations; a replacement waits for the
// checks in flight to finish, which is what hot reload promises.
//
// Every operation is seq_cst. A reader re-reads the epoch after counting
// itself in: if it did not change, any writer that flips it later sees this
// reader and waits; if it changed, the reader may have counted itself under
// a parity a writer already drained, so it backs out and tries again.
#ifndef LIMIFY_ENGINE_READ_MOSTLY_H_
#define LIMIFY_ENGINE_READ_MOSTLY_H_

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

namespace limify {

// The slot a thread pins in: spread threads over slots, fixed per thread.
size_t ReaderSlotOfThisThread();

// Tests widen the window between reading the epoch and counting in, to prove
// the protocol; production code uses this no-op.
struct NoPinHooks {
  static void BetweenEpochAndCount() {}
};

template <typename T, typename Hooks = NoPinHooks>
class ReadMostly {
 public:
  static constexpr size_t kSlots = 16;

  explicit ReadMostly(std::unique_ptr<const T> initial) : current_(initial.release()) {}
  ~ReadMostly() { delete current_.load(); }  // no reader may be left
  ReadMostly(const ReadMostly&) = delete;
  ReadMostly& operator=(const ReadMostly&) = delete;

  // Keeps the object it returns alive until it goes out of scope.
  class Pin {
   public:
    explicit Pin(const ReadMostly& cell) {
      Slot& slot = cell.slots_[ReaderSlotOfThisThread()];
      for (;;) {
        const uint64_t epoch = cell.epoch_.load();
        Hooks::BetweenEpochAndCount();
        counter_ = &slot.readers[epoch & 1];
        counter_->fetch_add(1);
        if (cell.epoch_.load() == epoch) break;
        counter_->fetch_sub(1);
      }
      object_ = cell.current_.load();
    }
    ~Pin() { counter_->fetch_sub(1); }
    Pin(const Pin&) = delete;
    Pin& operator=(const Pin&) = delete;

    const T* get() const { return object_; }
    const T* operator->() const { return object_; }
    const T& operator*() const { return *object_; }

   private:
    std::atomic<int64_t>* counter_;
    const T* object_;
  };

  // The current object, for the writer only: callers must serialize with
  // Replace (the object stays valid until their own next Replace).
  const T* LatestForWriter() const { return current_.load(); }

  // Publishes `next`; returns once no reader can still see the old object,
  // which it then deletes. Replacements are serialized.
  void Replace(std::unique_ptr<const T> next) {
    std::lock_guard<std::mutex> lock(writer_mu_);
    const T* old = current_.exchange(next.release());
    const uint64_t old_parity = epoch_.fetch_add(1) & 1;
    // Checks are short, but one may be waiting on a slow storage: yield a
    // few times, then sleep rather than spin a core for that long.
    for (int round = 0; ReadersOf(old_parity) != 0; ++round) {
      if (round < 64) {
        std::this_thread::yield();
      } else {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
    delete old;
  }

 private:
  struct alignas(64) Slot {
    std::atomic<int64_t> readers[2] = {0, 0};
  };

  int64_t ReadersOf(uint64_t parity) const {
    int64_t n = 0;
    for (const Slot& slot : slots_) n += slot.readers[parity].load();
    return n;
  }

  std::atomic<const T*> current_;
  std::atomic<uint64_t> epoch_{0};
  mutable Slot slots_[kSlots];
  std::mutex writer_mu_;
};

}  // namespace limify

#endif  // LIMIFY_ENGINE_READ_MOSTLY_H_
