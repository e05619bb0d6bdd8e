#include "engine/json_reader.h"

#include <limits>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"

namespace limify::json {
namespace {

using Event = nlohmann::detail::parse_event_t;

// Thrown from the parse callback to stop at the first duplicate key or
// over-deep nesting; caught in Parse (never escapes this file).
struct StopParse {};

// Follows the parser through the document so a duplicate key can be
// reported with its path. One frame per open object or array.
class PathTracker {
 public:
  explicit PathTracker(std::string_view root_name) : root_name_(root_name) {}

  bool OnEvent(Event event, const Json& parsed) {
    switch (event) {
      case Event::object_start:
      case Event::array_start:
        if (frames_.size() >= static_cast<size_t>(kMaxDepth)) {
          error_ = Error(root_name_, "nesting deeper than " + std::to_string(kMaxDepth) +
                                         " levels");
          throw StopParse{};
        }
        frames_.push_back(Frame{event == Event::array_start, 0, {}, {}});
        break;
      case Event::key: {
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          std::string path = CurrentPath(frames_.size() - 1);
          error_ = Error(path.empty() ? root_name_ : path,
                         "duplicate key " + Json(top.key).dump());
          throw StopParse{};
        }
        break;
      }
      case Event::object_end:
      case Event::array_end:
        frames_.pop_back();
        ElementDone();
        break;
      case Event::value:
        ElementDone();
        break;
    }
    return true;
  }

  absl::Status error() const { return error_; }

 private:
  struct Frame {
    bool array;
    size_t index;  // arrays: the element being read
    std::string key;  // objects: the member being read
    absl::flat_hash_set<std::string> keys;
  };

  void ElementDone() {
    if (!frames_.empty() && frames_.back().array) ++frames_.back().index;
  }

  // The path of the container at frames_[depth] (the frames below it name
  // the keys and indices leading to it).
  std::string CurrentPath(size_t depth) const {
    std::string path;
    for (size_t i = 0; i < depth; ++i) {
      path = frames_[i].array ? Index(path, frames_[i].index) : Key(path, frames_[i].key);
    }
    return path;
  }

  std::string root_name_;
  std::vector<Frame> frames_;
  absl::Status error_;
};

// Parser messages echo input bytes; keep the error text printable ASCII so
// it can be logged or embedded in JSON by whoever reports it.
std::string Printable(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool IsWord(std::string_view key) {
  if (key.empty()) return false;
  for (char c : key) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
          c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<Json> Parse(std::string_view text, std::string_view root_name) {
  PathTracker tracker(root_name);
  try {
    return Json::parse(text.begin(), text.end(),
                       [&tracker](int, Event event, Json& parsed) {
                         return tracker.OnEvent(event, parsed);
                       });
  } catch (const StopParse&) {
    return tracker.error();
  } catch (const Json::parse_error& e) {
    // what() = "[json.exception.parse_error.101] parse error at line 1, column 2: ..."
    std::string_view what = e.what();
    constexpr std::string_view kAt = "parse error at ";
    if (size_t at = what.find(kAt); at != std::string_view::npos) {
      what.remove_prefix(at + kAt.size());
    }
    return Error(root_name, "invalid JSON at byte " + std::to_string(e.byte) + ": " +
                                Printable(what));
  } catch (const Json::exception& e) {
    // A number too large for a double ("1e400") is out_of_range, which has
    // no byte offset: find the token it quotes.
    std::string_view what = e.what();
    if (size_t at = what.find("] "); at != std::string_view::npos) what.remove_prefix(at + 2);
    std::string where;
    const size_t open = what.find('\'');
    const size_t close = what.rfind('\'');
    if (open != std::string_view::npos && close > open + 1) {
      const size_t pos = text.find(what.substr(open + 1, close - open - 1));
      if (pos != std::string_view::npos) where = " at byte " + std::to_string(pos + 1);
    }
    constexpr size_t kMax = 200;
    std::string detail = Printable(what.substr(0, kMax));
    if (what.size() > kMax) detail += "...";
    return Error(root_name, "invalid JSON" + where + ": " + detail);
  }
}

std::string Key(std::string_view path, std::string_view key) {
  std::string out(path);
  if (IsWord(key)) {
    if (!out.empty()) out += '.';
    out += key;
  } else {
    out += '[';
    out += Json(std::string(key)).dump(-1, ' ', false, Json::error_handler_t::replace);
    out += ']';
  }
  return out;
}

std::string Index(std::string_view path, size_t i) {
  return std::string(path) + "[" + std::to_string(i) + "]";
}

absl::Status Error(std::string_view path, std::string_view message) {
  std::string text(path.empty() ? std::string_view("config") : path);
  text += ": ";
  text += message;
  return absl::InvalidArgumentError(text);
}

std::string Describe(const Json& value) {
  if (value.is_array()) return value.empty() ? "an empty list" : "a list";
  if (value.is_object()) return "an object";
  std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  constexpr size_t kMax = 64;
  if (text.size() > kMax) {
    size_t cut = kMax;
    while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
    text.resize(cut);
    text += "...";
  }
  return text;
}

absl::Status TypeError(std::string_view path, std::string_view what, const Json& value) {
  return Error(path, "expected " + std::string(what) + ", got " + Describe(value));
}

absl::Status ExpectObject(const Json& value, std::string_view path) {
  if (value.is_object()) return absl::OkStatus();
  return TypeError(path, "an object", value);
}

absl::StatusOr<std::string> GetString(const Json& value, std::string_view path) {
  if (!value.is_string()) return TypeError(path, "a string", value);
  return value.get<std::string>();
}

absl::StatusOr<int64_t> GetInt(const Json& value, std::string_view path) {
  if (value.is_number_unsigned()) {
    uint64_t u = value.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return TypeError(path, "an integer that fits in 64 bits", value);
    }
    return static_cast<int64_t>(u);
  }
  if (value.is_number_integer()) return value.get<int64_t>();
  return TypeError(path, "an integer", value);
}

absl::Status CheckKeys(const Json& object, std::string_view path,
                       std::initializer_list<std::string_view> allowed) {
  for (const auto& [key, value] : object.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (known) continue;
    std::string list;
    for (std::string_view a : allowed) {
      if (!list.empty()) list += ", ";
      list += a;
    }
    return Error(Key(path, key), "unknown key (expected " + list + ")");
  }
  return absl::OkStatus();
}

}  // namespace limify::json
