// limify_postgres_hammer: one process of the multi-process contention test.
// Runs `threads` threads that each make `requests` checks of one identity
// through a real engine on the postgres storage, then prints
//   allowed=<n> denied=<n> degraded=<n> errors=<n>
// usage: limify_postgres_hammer URL IDENTITY THREADS REQUESTS ALGORITHM RATE NATIVE(0|1)
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

int main(int argc, char** argv) {
  if (argc != 8) {
    std::fprintf(stderr, "usage: %s URL IDENTITY THREADS REQUESTS ALGORITHM RATE NATIVE\n", argv[0]);
    return 2;
  }
  const std::string url = argv[1], identity = argv[2];
  const int threads = std::atoi(argv[3]), requests = std::atoi(argv[4]);
  const std::string algorithm = argv[5], rate = argv[6];
  const bool native = std::string(argv[7]) == "1";
  // One connection per thread, and timeouts that a loaded CI machine meets.
  const std::string config =
      R"({"storage": {"type": "postgres", "url": ")" + url + R"(", "pool_size": )" +
      std::to_string(threads) +
      R"(, "statement_timeout_ms": 10000, "connect_timeout_ms": 5000, "native": )" +
      (native ? "true" : "false") + R"(}, "failure_mode": "closed", "rules": [{"id": "hammer", )" +
      R"("path": "/hammer", "algorithm": ")" + algorithm + R"(", "rate": ")" + rate + R"("}]})";
  auto engine = limify::Engine::Create(config);
  if (!engine.ok()) {
    std::fprintf(stderr, "engine: %s\n", std::string(engine.status().message()).c_str());
    return 1;
  }
  std::mutex first_error_mu;
  std::string first_error;
  (void)(*engine)->SetErrorListener([&](const absl::Status& status) {
    std::lock_guard<std::mutex> lock(first_error_mu);
    if (first_error.empty()) first_error = std::string(status.message());
  });
  std::atomic<int> allowed{0}, denied{0}, degraded{0}, errors{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = 0; i < requests; ++i) {
        limify::Decision d;
        const auto status = (*engine)->CheckKey("hammer", identity, 1, &d);
        if (!status.ok()) {
          errors.fetch_add(1);
        } else if (d.degraded) {
          degraded.fetch_add(1);
        } else if (d.allowed) {
          allowed.fetch_add(1);
        } else {
          denied.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : pool) t.join();
  std::printf("allowed=%d denied=%d degraded=%d errors=%d\n", allowed.load(), denied.load(),
              degraded.load(), errors.load());
  if (!first_error.empty()) std::fprintf(stderr, "first error: %s\n", first_error.c_str());
  return 0;
}
