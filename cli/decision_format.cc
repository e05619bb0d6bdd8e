// Decisions as text and JSON lines.
#include "cli/decision_format.h"

#include <cstdio>
#include <string_view>
#include <vector>

#include "cli/durations.h"

namespace limify::cli {
namespace {

std::string CountOrUnlimited(int64_t n) {
  return n == LIMIFY_UNLIMITED ? "unlimited" : std::to_string(n);
}

std::string IdOrDash(const char* id) { return id[0] == '\0' ? "-" : id; }

// Splits "Name: value\r\n..." into (name, value) pairs.
std::vector<std::pair<std::string, std::string>> ParseHeaders(const std::string& text) {
  std::vector<std::pair<std::string, std::string>> fields;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\r\n", start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      fields.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    start = end + 2;
  }
  return fields;
}

}  // namespace

std::string JsonString(const std::string& text) {
  std::string out = "\"";
  for (unsigned char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

std::string FormatDecisionText(const limify_decision& d) {
  std::string line = d.allowed ? "allowed" : "denied ";
  line += " rule=" + IdOrDash(d.rule_id);
  line += " plan=" + IdOrDash(d.plan_id);
  line += " limit=" + CountOrUnlimited(d.limit);
  line += " remaining=" + CountOrUnlimited(d.remaining);
  line += " reset=" + FormatDuration(d.reset_after_us);
  line += " retry_after=" + FormatDuration(d.retry_after_us);
  if (d.degraded) line += " degraded";
  return line;
}

std::string FormatDecisionJson(const limify_decision& d, const std::string& headers) {
  std::string json = "{\"allowed\":";
  json += d.allowed ? "true" : "false";
  json += ",\"matched\":";
  json += d.matched ? "true" : "false";
  json += ",\"degraded\":";
  json += d.degraded ? "true" : "false";
  json += ",\"rule\":" + JsonString(d.rule_id);
  json += ",\"plan\":" + JsonString(d.plan_id);
  json += ",\"limit\":" + std::to_string(d.limit);
  json += ",\"remaining\":" + std::to_string(d.remaining);
  json += ",\"period_us\":" + std::to_string(d.period_us);
  json += ",\"reset_after_us\":" + std::to_string(d.reset_after_us);
  json += ",\"retry_after_us\":" + std::to_string(d.retry_after_us);
  if (!headers.empty()) {
    json += ",\"headers\":{";
    bool first = true;
    for (const auto& [name, value] : ParseHeaders(headers)) {
      if (!first) json += ',';
      first = false;
      json += JsonString(name) + ":" + JsonString(value);
    }
    json += '}';
  }
  return json + "}";
}

std::string FormatHeaders(const limify_decision& decision, uint32_t flags) {
  std::string text(256, '\0');
  size_t n = limify_format_headers(&decision, flags, text.data(), text.size());
  if (n >= text.size()) {
    text.assign(n + 1, '\0');
    n = limify_format_headers(&decision, flags, text.data(), text.size());
  }
  text.resize(n < text.size() ? n : text.size() - 1);
  return text;
}

std::string IndentHeaders(const std::string& headers) {
  std::string out;
  for (const auto& [name, value] : ParseHeaders(headers)) {
    out += "  " + name + ": " + value + "\n";
  }
  return out;
}

}  // namespace limify::cli
