#include "engine/read_mostly.h"

#include <functional>

namespace limify {

size_t ReaderSlotOfThisThread() {
  thread_local const size_t slot =
      std::hash<std::thread::id>()(std::this_thread::get_id()) % ReadMostly<int>::kSlots;
  return slot;
}

}  // namespace limify
