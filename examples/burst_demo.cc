// The Quick start demo: what limify decides for a burst of requests.
//
// One engine with the in-memory storage and two rules. Alice sends a burst
// to /search (5 per second, token bucket): the first five pass, the rest get
// 429 with the exact time until a token is back. Bob is not affected by
// Alice. After waiting that long, Alice passes again. Then /export, limited
// to 2 per second AND 3 per minute: both limits must allow.
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "engine/engine.h"

namespace {

constexpr char kConfig[] = R"json({
  "storage": {"type": "memory"},
  "rules": [
    {"id": "search", "method": "GET", "path": "/search", "rate": "5/second"},
    {"id": "export", "method": "*", "path": "/export/**", "rate": ["2/second", "3/minute"]}
  ]
})json";

std::string Duration(int64_t us) {
  if (us < 0) return "never";
  char buf[32];
  if (us >= 1'000'000) {
    std::snprintf(buf, sizeof(buf), "%.1f s", static_cast<double>(us) / 1e6);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f ms", static_cast<double>(us) / 1e3);
  }
  return buf;
}

int Send(limify::Engine& engine, int n, const char* user, const char* method,
         const char* path) {
  limify::Request request;
  request.method = method;
  request.path = path;
  request.user_id = user;
  limify::Decision d;
  absl::Status status = engine.Check(request, &d);
  if (!status.ok()) {
    std::fprintf(stderr, "check failed: %s\n", status.ToString().c_str());
    return -1;
  }
  std::string why;
  if (d.allowed) {
    why = std::to_string(d.remaining) + " of " + std::to_string(d.limit) + " left";
  } else {
    why = "limit " + std::to_string(d.limit) + " per " +
          std::to_string(d.period_us / 1'000'000) + " s reached; retry in " +
          Duration(d.retry_after_us);
  }
  std::printf("  %2d  %-6s %-4s %-18s -> %s  [rule %s]  %s\n", n, user, method, path,
              d.allowed ? "200" : "429", d.rule_id.c_str(), why.c_str());
  return d.allowed ? 0 : static_cast<int>((d.retry_after_us + 999) / 1000);
}

}  // namespace

int main() {
  absl::StatusOr<std::unique_ptr<limify::Engine>> engine = limify::Engine::Create(kConfig);
  if (!engine.ok()) {
    std::fprintf(stderr, "limify: %s\n", engine.status().ToString().c_str());
    return 1;
  }
  limify::Engine& e = **engine;
  std::printf("limify demo: in-memory storage, configuration:\n%s\n\n", kConfig);

  std::printf("A burst of 8 searches from alice (5/second, token bucket):\n");
  int wait_ms = 0;
  for (int i = 1; i <= 8; ++i) wait_ms = Send(e, i, "alice", "GET", "/search");
  std::printf("bob has a bucket of his own:\n");
  Send(e, 9, "bob", "GET", "/search");

  std::printf("alice waits the %d ms she was told, and tries again:\n", wait_ms);
  std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
  Send(e, 10, "alice", "GET", "/search");

  std::printf("\nExports from carol: 2/second AND 3/minute, both must allow:\n");
  for (int i = 1; i <= 3; ++i) Send(e, i, "carol", "POST", "/export/report.csv");
  std::this_thread::sleep_for(std::chrono::seconds(1));
  std::printf("one second later the per-second limit is fine, the per-minute one is not:\n");
  for (int i = 4; i <= 5; ++i) Send(e, i, "carol", "POST", "/export/report.csv");
  return 0;
}
