#include "engine/path_normalizer.h"

#include <vector>

namespace limify {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// `segment` with every valid %XX decoded, unless one of them is '/', '?' or
// NUL (decoding those would change where the segments or the path end).
std::string Decode(std::string_view segment) {
  std::string out;
  out.reserve(segment.size());
  for (size_t i = 0; i < segment.size(); ++i) {
    const int hi = i + 2 < segment.size() && segment[i] == '%' ? HexValue(segment[i + 1]) : -1;
    const int lo = hi >= 0 ? HexValue(segment[i + 2]) : -1;
    if (lo < 0) {
      out.push_back(segment[i]);
      continue;
    }
    const char c = static_cast<char>(hi * 16 + lo);
    if (c == '/' || c == '?' || c == '\0') return std::string(segment);
    out.push_back(c);
    i += 2;
  }
  return out;
}

// Nothing to decode, no "." or ".." segment: the path matches as it is
// (empty segments and the query string are skipped by the matcher).
bool AlreadyNormal(std::string_view path) {
  if (path.find('%') != std::string_view::npos) return false;
  for (size_t i = path.find('.'); i != std::string_view::npos; i = path.find('.', i + 1)) {
    const bool starts = i == 0 || path[i - 1] == '/';
    size_t end = i + 1;
    if (end < path.size() && path[end] == '.') ++end;
    const bool ends = end == path.size() || path[end] == '/' || path[end] == '?';
    if (starts && ends) return false;
  }
  return true;
}

}  // namespace

std::string_view NormalizePath(std::string_view path, std::string* buffer) {
  path = path.substr(0, path.find('?'));
  if (AlreadyNormal(path)) return path;
  std::vector<std::string> segments;
  size_t i = 0;
  while (i <= path.size()) {
    size_t end = path.find('/', i);
    if (end == std::string_view::npos) end = path.size();
    std::string segment = Decode(path.substr(i, end - i));
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(std::move(segment));
    }
    i = end + 1;
  }
  buffer->clear();
  for (const std::string& segment : segments) {
    buffer->push_back('/');
    buffer->append(segment);
  }
  if (buffer->empty()) buffer->push_back('/');
  return *buffer;
}

}  // namespace limify
