// postgres_bench: the postgres storage's checks per second and latency (p50,
// p99) at 1 and 8 concurrent callers through a real engine (native path,
// token bucket), beside pgbench running the very same SQL function on the
// same server, with synchronous_commit on and off, in one run, one table.
// The two take turns (--rounds slices of seconds/rounds each, whole seconds)
// so that the ratio compares them under the same load.
// pgbench is the ceiling a client of that function can reach; the ratio is
// what the engine, libpqxx and the storage's own work cost on top of it.
//
//   postgres_bench [--url postgresql://...] [--seconds 6] [--rounds 3] [--batch 64]
//                  [--functions 0] [--callers 1,8]
//
// --batch N adds a row per synchronous_commit setting: one caller deciding N
// requests per Engine::CheckBatch (the storage's execute_batch, one pipelined
// round trip), against limify's own one-by-one row (0: none).
// --functions S adds the SQL functions alone, schema version 2 against the
// current one, S seconds of pgbench per run (0: not measured).
//
// Without --url it starts a throwaway server with fsync on (scripts/pg-local
// server --durable) and stops it at the end. Speed is reported, never
// asserted; not part of the tests.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "engine/engine.h"

namespace {

using Clock = std::chrono::steady_clock;

std::string Run(const std::string& command, int* status = nullptr) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  const int rc = ::pclose(pipe);
  if (status != nullptr) *status = rc;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

std::vector<int> ParseList(const std::string& text) {
  std::vector<int> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');) out.push_back(std::stoi(item));
  return out;
}

// Every check (or pgbench transaction) of one client over all its slices.
struct Samples {
  double count = 0;
  double seconds = 0;
  std::vector<double> latencies_us;
  long errors = 0;
};

struct Result {
  double per_second = 0;
  double p50_us = 0;
  double p99_us = 0;
  long errors = 0;
};

Result Summarize(Samples& s) {
  Result r;
  r.per_second = s.seconds > 0 ? s.count / s.seconds : 0;
  r.errors = s.errors;
  std::vector<double>& l = s.latencies_us;
  if (!l.empty()) {
    std::sort(l.begin(), l.end());
    r.p50_us = l[l.size() / 2];
    r.p99_us = l[std::min(l.size() - 1, l.size() * 99 / 100)];
  }
  return r;
}

// `callers` threads, each checking its own identity as fast as it can.
void RunEngine(limify::Engine& engine, int callers, double seconds, Samples* out) {
  std::atomic<bool> go{false}, stop{false};
  std::atomic<long> errors{0};
  std::vector<std::vector<double>> latencies(callers);
  std::vector<std::thread> threads;
  for (int t = 0; t < callers; ++t) {
    threads.emplace_back([&, t] {
      const std::string identity = "bench-caller-" + std::to_string(t);
      latencies[t].reserve(200000);
      while (!go.load()) std::this_thread::yield();
      while (!stop.load(std::memory_order_relaxed)) {
        limify::Decision d;
        const auto start = Clock::now();
        const absl::Status s = engine.CheckKey("bench", identity, 1, &d);
        latencies[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (!s.ok() || d.degraded || !d.allowed) errors.fetch_add(1);
      }
    });
  }
  const auto start = Clock::now();
  go.store(true);
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop.store(true);
  for (auto& t : threads) t.join();
  out->seconds += std::chrono::duration<double>(Clock::now() - start).count();
  for (auto& l : latencies) {
    out->count += l.size();
    out->latencies_us.insert(out->latencies_us.end(), l.begin(), l.end());
  }
  out->errors += errors.load();
}

// One caller deciding `batch` requests at a time (Engine::CheckBatch: the
// storage's execute_batch sends them in one pipelined round trip), each its
// own identity. A latency is a whole batch's.
void RunEngineBatch(limify::Engine& engine, int batch, double seconds, Samples* out) {
  std::vector<std::string> identities;
  for (int i = 0; i < batch; ++i) identities.push_back("bench-batch-" + std::to_string(i));
  std::vector<limify::Request> requests(batch);
  for (int i = 0; i < batch; ++i) {
    requests[i].method = "GET";
    requests[i].path = "/bench";
    requests[i].user_id = identities[i];
  }
  std::vector<limify::Decision> decisions(batch);
  std::vector<absl::Status> statuses(batch);
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto start = Clock::now();
    engine.CheckBatch(requests.data(), requests.size(), decisions.data(), statuses.data());
    out->latencies_us.push_back(
        std::chrono::duration<double, std::micro>(Clock::now() - start).count());
    out->count += batch;
    for (int i = 0; i < batch; ++i) {
      if (!statuses[i].ok() || decisions[i].degraded || !decisions[i].allowed) ++out->errors;
    }
  }
  out->seconds += std::chrono::duration<double>(Clock::now() - t0).count();
}

// pgbench -M prepared running `sql` with `callers` clients, each its own key.
void RunPgbench(const std::string& pg_bin, const std::string& url, const std::string& sync,
                int callers, int seconds, Samples* out) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("limify-pgbench-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream script(dir / "check.sql");
    script << "SELECT * FROM limify.token_bucket(ARRAY[convert_to('pgbench-caller-' || "
              ":client_id, 'UTF8')], 1, false, ARRAY[1000000000, 1000000, 0]::bigint[]);\n";
  }
  const std::string command = "cd " + dir.string() + " && PGOPTIONS='-c synchronous_commit=" +
                              sync + "' " + pg_bin + "/pgbench -n -M prepared -l --sampling-rate 0.1 -c " +
                              std::to_string(callers) + " -j " + std::to_string(callers) +
                              " -T " + std::to_string(seconds) +
                              " -f check.sql '" + url + "' 2>&1";
  int status = 0;
  const std::string text = Run(command, &status);
  const size_t at = text.find("tps = ");
  if (status != 0 || at == std::string::npos) {
    std::fprintf(stderr, "pgbench failed:\n%s\n", text.c_str());
    out->errors += 1;
  } else {
    out->count += std::stod(text.substr(at + 6)) * seconds;
    out->seconds += seconds;
  }
  // The per-transaction log, one transaction in ten (logging every one
  // would slow pgbench down): client, transaction, latency (us), ...
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().filename().string().rfind("pgbench_log", 0) != 0) continue;
    std::ifstream log(entry.path());
    long client, tx;
    double latency;
    std::string rest;
    while (log >> client >> tx >> latency && std::getline(log, rest)) {
      out->latencies_us.push_back(latency);
    }
  }
  std::filesystem::remove_all(dir);
}

std::string WithSynchronousCommit(const std::string& url, const std::string& sync) {
  return url + (url.find('?') == std::string::npos ? "?" : "&") +
         "options=-c%20synchronous_commit%3D" + sync;
}

// The SQL functions alone, schema version 2 (installed beside the current
// one as "limify_v2") against the current schema ("limify", which the engine
// has migrated): pgbench -c1 on each algorithm's function with one limit,
// synchronous_commit off, the two alternating `rounds` times. Prints the
// median latency average of each and the median of the side-by-side ratios.
int CompareFunctions(const std::string& pg_bin, const std::string& url, int seconds, int rounds) {
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("limify-pgfn-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream v2(dir / "v2.sql");
    v2 << "DROP SCHEMA IF EXISTS limify_v2 CASCADE;\nCREATE SCHEMA limify_v2;\n";
    for (const char* file : {"001_state.sql", "002_functions.sql"}) {
      std::ifstream in(std::string(LIMIFY_SOURCE_DIR) + "/sql/postgres/" + file);
      std::stringstream text;
      text << in.rdbuf();
      std::string sql = text.str();
      for (size_t at = 0; (at = sql.find("@schema@", at)) != std::string::npos;) {
        sql.replace(at, 8, "\"limify_v2\"");
      }
      v2 << sql << "\n";
    }
  }
  int status = 0;
  const std::string out = Run(pg_bin + "/psql -q -v ON_ERROR_STOP=1 -f " + (dir / "v2.sql").string() +
                                  " '" + url + "' 2>&1",
                              &status);
  if (status != 0) {
    std::fprintf(stderr, "installing schema version 2 failed:\n%s\n", out.c_str());
    return 1;
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
  };
  std::printf("\nthe functions alone (pgbench -c1, synchronous_commit off, %d x %d s each, "
              "alternating): latency average per call, round trip included\n",
              rounds, seconds);
  std::printf("%-24s %12s %12s %9s\n", "function", "v2 us", "current us", "speed-up");
  for (const char* algorithm :
       {"token_bucket", "gcra", "fixed_window", "sliding_window_counter", "sliding_window"}) {
    // sliding_window keeps 8 bytes per request: 100 per millisecond keeps
    // its state at 808 bytes; the others allow 10^9 per second.
    const std::string spec = std::string(algorithm) == "sliding_window"
                                 ? "100, 1000, 0"
                                 : "1000000000, 1000000, 0";
    std::vector<double> old_us, new_us, ratios;
    for (int round = 0; round < rounds; ++round) {
      double ms[2] = {0, 0};
      for (int which = 0; which < 2; ++which) {
        const std::string schema = which == 0 ? "limify_v2" : "limify";
        const std::filesystem::path script = dir / (schema + "_" + algorithm + ".sql");
        {
          std::ofstream f(script);
          f << "SELECT * FROM " << schema << "." << algorithm
            << "(ARRAY[convert_to('pgbench-fn-' || :client_id, 'UTF8')], 1, false, ARRAY["
            << spec << "]::bigint[]);\n";
        }
        const std::string text =
            Run("PGOPTIONS='-c synchronous_commit=off' " + pg_bin +
                    "/pgbench -n -M prepared -c 1 -T " + std::to_string(seconds) + " -f " +
                    script.string() + " '" + url + "' 2>&1",
                &status);
        const size_t at = text.find("latency average = ");
        if (status != 0 || at == std::string::npos) {
          std::fprintf(stderr, "pgbench failed:\n%s\n", text.c_str());
          return 1;
        }
        ms[which] = std::stod(text.substr(at + 18));
      }
      old_us.push_back(ms[0] * 1000);
      new_us.push_back(ms[1] * 1000);
      ratios.push_back(ms[1] > 0 ? ms[0] / ms[1] : 0);
    }
    std::printf("%-24s %12.0f %12.0f %8.2fx\n", algorithm, median(old_us), median(new_us),
                median(ratios));
  }
  Run(pg_bin + "/psql -q -c 'DROP SCHEMA limify_v2 CASCADE' '" + url + "' 2>&1");
  std::filesystem::remove_all(dir);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string url;
  double seconds = 6;
  int rounds = 3;
  int batch = 64;
  int functions = 0;
  std::vector<int> callers = {1, 8};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--url") {
      url = value;
    } else if (flag == "--seconds") {
      seconds = std::stod(value);
    } else if (flag == "--functions") {
      functions = std::max(0, std::stoi(value));
    } else if (flag == "--batch") {
      batch = std::max(0, std::stoi(value));
    } else if (flag == "--rounds") {
      rounds = std::max(1, std::stoi(value));
    } else if (flag == "--callers") {
      callers = ParseList(value);
    } else {
      std::fprintf(stderr, "usage: %s [--url URL] [--seconds S] [--rounds 3] [--batch 64] [--functions 0] "
                   "[--callers 1,8]\n",
                   argv[0]);
      return 2;
    }
  }
  // pgbench runs whole seconds.
  const int slice = std::max(1, static_cast<int>(seconds / rounds + 0.5));
  const char* bin_env = std::getenv("LIMIFY_PG_BIN");
  const std::string pg_bin =
      bin_env != nullptr ? bin_env : Run("ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1");
  std::string own_dir;
  if (url.empty()) {
    own_dir = Run("mktemp -d /tmp/limify-pgb-XXXXXX");
    int status = 0;
    url = Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/pg-local server " + own_dir +
                  " bench --durable",
              &status);
    if (status != 0) {
      std::fprintf(stderr, "could not start PostgreSQL (scripts/pg-local)\n");
      return 1;
    }
  }
  std::printf("postgres_bench: %s, %d x %d s per client, interleaved, token_bucket native path vs "
              "pgbench -M prepared\n",
              url.c_str(), rounds, slice);
  std::printf("%-6s %-8s %-8s %12s %9s %9s %8s\n", "sync", "callers", "client", "checks/s",
              "p50 us", "p99 us", "ratio");
  int rc = 0;
  for (const std::string sync : {"on", "off"}) {
    const std::string sync_url = WithSynchronousCommit(url, sync);
    for (int n : callers) {
      const std::string config =
          R"({"storage": {"type": "postgres", "url": ")" + sync_url + R"(", "pool_size": )" +
          std::to_string(n) +
          R"(, "statement_timeout_ms": 2000, "connect_timeout_ms": 2000}, "failure_mode": "closed",)"
          R"( "rules": [{"id": "bench", "path": "/bench", "algorithm": "token_bucket",)"
          R"( "rate": "1000000000/second"}]})";
      auto engine = limify::Engine::Create(config);
      if (!engine.ok()) {
        std::fprintf(stderr, "engine: %s\n", std::string(engine.status().message()).c_str());
        rc = 1;
        break;
      }
      std::mutex first_error_mu;
      std::string first_error;
      (void)(*engine)->SetErrorListener([&](const absl::Status& status) {
        std::lock_guard<std::mutex> lock(first_error_mu);
        if (first_error.empty()) first_error = std::string(status.message());
      });
      Samples warm_up, ours_samples, theirs_samples, batch_samples;
      RunEngine(**engine, n, 1.0, &warm_up);  // connections, prepared statements, schema
      RunPgbench(pg_bin, url, sync, n, 1, &warm_up);
      const bool batches = n == 1 && batch > 0;
      // Interleaved slices, each client first in every other round: a load
      // change on a shared machine then weighs on both figures alike.
      for (int round = 0; round < rounds; ++round) {
        if (round % 2 == 0) RunEngine(**engine, n, slice, &ours_samples);
        RunPgbench(pg_bin, url, sync, n, slice, &theirs_samples);
        if (round % 2 == 1) RunEngine(**engine, n, slice, &ours_samples);
        if (batches) RunEngineBatch(**engine, batch, slice, &batch_samples);
      }
      const Result ours = Summarize(ours_samples);
      const Result theirs = Summarize(theirs_samples);
      std::printf("%-6s %-8d %-8s %12.0f %9.0f %9.0f %8s\n", sync.c_str(), n, "pgbench",
                  theirs.per_second, theirs.p50_us, theirs.p99_us, "");
      std::printf("%-6s %-8d %-8s %12.0f %9.0f %9.0f %7.0f%%\n", sync.c_str(), n, "limify",
                  ours.per_second, ours.p50_us, ours.p99_us,
                  theirs.per_second > 0 ? 100.0 * ours.per_second / theirs.per_second : 0.0);
      if (batches) {
        const Result batched = Summarize(batch_samples);
        std::printf("%-6s %-8d %-8s %12.0f %9.0f %9.0f %7.0f%%\n", sync.c_str(), n,
                    ("batch" + std::to_string(batch)).c_str(), batched.per_second,
                    batched.p50_us, batched.p99_us,
                    ours.per_second > 0 ? 100.0 * batched.per_second / ours.per_second : 0.0);
        if (batched.errors > 0) {
          std::fprintf(stderr, "errors: limify batches %ld (first: %s)\n", batched.errors,
                       first_error.c_str());
          rc = 1;
        }
      }
      if (ours.errors > 0 || theirs.errors > 0) {
        std::fprintf(stderr, "errors: limify %ld (first: %s), pgbench %ld\n", ours.errors,
                     first_error.c_str(), theirs.errors);
        rc = 1;
      }
    }
  }
  if (batch > 0) {
    std::printf("batch%d: one caller, %d requests per Engine::CheckBatch (one pipelined round "
                "trip); its p50/p99 are a whole batch's, its ratio is against limify's own "
                "1-caller row\n",
                batch, batch);
  }
  if (functions > 0 && rc == 0) rc = CompareFunctions(pg_bin, url, functions, rounds);
  if (!own_dir.empty()) Run(std::string(LIMIFY_SOURCE_DIR) + "/scripts/pg-local stop " + own_dir);
  return rc;
}
