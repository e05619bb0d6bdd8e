// See error_reporting.h.
#include "capi/error_reporting.h"

#include <cstring>

namespace limify::capi {
namespace {

// The length of the UTF-8 sequence a lead byte starts (1 for anything else).
size_t SequenceLength(unsigned char lead) {
  if (lead >= 0xF0) return 4;
  if (lead >= 0xE0) return 3;
  if (lead >= 0xC0) return 2;
  return 1;
}

// The length of text[0, n) without a multi-byte sequence cut short at its end.
size_t WholeCharacters(const char* text, size_t n) {
  size_t lead = n;
  while (lead > 0 && (static_cast<unsigned char>(text[lead - 1]) & 0xC0) == 0x80) --lead;
  if (lead == 0) return n;  // only continuation bytes: not UTF-8 anyway
  --lead;                   // text[lead] starts the last sequence
  const size_t expected = SequenceLength(static_cast<unsigned char>(text[lead]));
  return n - lead < expected ? lead : n;
}

}  // namespace

void WriteMessage(char* buf, size_t size, std::initializer_list<std::string_view> parts) noexcept {
  size_t used = 0;
  bool truncated = false;
  for (std::string_view part : parts) {
    const size_t room = size - 1 - used;
    const size_t n = part.size() < room ? part.size() : room;
    std::memcpy(buf + used, part.data(), n);
    used += n;
    if (n < part.size()) {
      truncated = true;
      break;
    }
  }
  if (truncated) used = WholeCharacters(buf, used);
  buf[used] = '\0';
}

void ClearError(limify_error* err) noexcept {
  if (err == nullptr) return;
  err->code = LIMIFY_OK;
  err->message[0] = '\0';
}

limify_status SetError(limify_error* err, limify_status code,
                       std::initializer_list<std::string_view> parts) noexcept {
  if (err == nullptr) return code;
  err->code = code;
  WriteMessage(err->message, sizeof(err->message), parts);
  return code;
}

}  // namespace limify::capi
