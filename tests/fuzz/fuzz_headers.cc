// limify_format_headers on arbitrary decisions and buffer sizes: snprintf's
// contract must hold for every input — never a write past `len`, always
// NUL-terminated when len > 0, the same length whatever the buffer, and the
// truncated text a prefix of the whole one.
//
// Input: the raw bytes of a limify_decision (struct_size forced to the real
// size, ids NUL-terminated within their arrays), then one byte of flags and
// one byte choosing the buffer length.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "limify/limify.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < sizeof(limify_decision) + 2) return 0;
  limify_decision decision;
  std::memcpy(&decision, data, sizeof decision);
  decision.struct_size = sizeof decision;
  decision.rule_id[LIMIFY_ID_MAX] = '\0';
  decision.plan_id[LIMIFY_ID_MAX] = '\0';
  const uint32_t flags = data[sizeof decision];
  const size_t small = data[sizeof decision + 1];

  const size_t whole = limify_format_headers(&decision, flags, nullptr, 0);
  std::vector<char> full(whole + 1, '\x7f');
  if (limify_format_headers(&decision, flags, full.data(), full.size()) != whole) std::abort();
  if (full[whole] != '\0' || std::strlen(full.data()) != whole) std::abort();

  // A short buffer inside a larger guarded one: nothing past `small` changes.
  std::vector<char> guarded(small + 64, '\x7f');
  if (limify_format_headers(&decision, flags, guarded.data(), small) != whole) std::abort();
  for (size_t i = small; i < guarded.size(); ++i) {
    if (guarded[i] != '\x7f') std::abort();
  }
  if (small > 0) {
    const size_t kept = whole < small ? whole : small - 1;
    if (guarded[kept] != '\0' || std::memcmp(guarded.data(), full.data(), kept) != 0) std::abort();
  }
  // Header lines only: no NUL, CR or LF inside a line may come from the ids.
  for (size_t i = 0; i < whole; ++i) {
    const char c = full[i];
    if (c == '\r' && (i + 1 >= whole || full[i + 1] != '\n')) std::abort();
    if (c == '\n' && (i == 0 || full[i - 1] != '\r')) std::abort();
  }
  return 0;
}
