// The Redis protocol (RESP) for the redis storage: commands are encoded here
// into a caller's buffer (no allocation once the buffer has grown), replies
// are parsed by hiredis's redisReader and owned through ReplyPtr.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_RESP_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_RESP_H_

#include <hiredis/hiredis.h>

#include <charconv>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace limify::redis {

struct ReplyDeleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;

inline std::string_view ReplyText(const redisReply* r) {
  return r != nullptr && r->str != nullptr ? std::string_view(r->str, r->len)
                                           : std::string_view();
}
inline bool IsError(const redisReply* r) { return r != nullptr && r->type == REDIS_REPLY_ERROR; }

// Appends commands to `out` as RESP arrays of bulk strings:
//   CommandBuilder b(&buf); b.Begin(3); b.Arg("SET"); b.Arg(key); b.Arg(value);
class CommandBuilder {
 public:
  explicit CommandBuilder(std::string* out) : out_(out) {}

  void Begin(size_t argc) {
    out_->push_back('*');
    AppendNumber(static_cast<int64_t>(argc));
    out_->append("\r\n");
  }
  void Arg(std::string_view a) { Arg2(a, {}); }
  // One argument made of two parts (a key prefix and a key).
  void Arg2(std::string_view a, std::string_view b) {
    out_->push_back('$');
    AppendNumber(static_cast<int64_t>(a.size() + b.size()));
    out_->append("\r\n");
    out_->append(a);
    out_->append(b);
    out_->append("\r\n");
  }
  void Int(int64_t v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    (void)ec;
    Arg(std::string_view(digits, static_cast<size_t>(end - digits)));
  }

 private:
  void AppendNumber(int64_t v) {
    char digits[24];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    (void)ec;
    out_->append(digits, static_cast<size_t>(end - digits));
  }
  std::string* out_;
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_RESP_H_
