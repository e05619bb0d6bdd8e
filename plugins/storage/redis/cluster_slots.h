// Redis Cluster key routing: the hash slot of a key (CRC16 of its hash tag)
// and the redirections a node answers with (MOVED, ASK).
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_CLUSTER_SLOTS_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_CLUSTER_SLOTS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace limify::redis {

inline constexpr int kSlotCount = 16384;

// CRC16-CCITT (XMODEM), the checksum Redis Cluster hashes keys with.
uint16_t Crc16(std::string_view data);

// The slot of `key`: the CRC16 of the part between the first '{' and the
// next '}' when that part is non-empty, else of the whole key, mod 16384.
int KeySlot(std::string_view key);

// "MOVED 3999 127.0.0.1:6381" or "ASK 3999 127.0.0.1:6381".
struct Redirect {
  bool ask = false;
  int slot = -1;
  std::string host;
  int port = 0;
};
// Parses a redirection error; false when `error` is not one.
bool ParseRedirect(std::string_view error, Redirect* out);

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_CLUSTER_SLOTS_H_
