#include "plugins/storage/postgres/postgres_storage.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <cstdlib>
#include <limits>
#include <optional>
#include <string_view>
#include <vector>

#include <libpq-fe.h>

#include <pqxx/binarystring>
#include <pqxx/except>
#include <pqxx/nontransaction>
#include <pqxx/result>
#include <pqxx/transaction>

#include "limify/plugin.hpp"
#include "plugins/storage/postgres/postgres_schema.h"

namespace limify::postgres {
namespace {

// The built-in algorithms with a SQL function, and their prepared statements.
struct NativeAlgorithm {
  const char* name;
  const char* statement;
};
constexpr NativeAlgorithm kNative[] = {
    {"token_bucket", "limify_token_bucket"},
    {"gcra", "limify_gcra"},
    {"fixed_window", "limify_fixed_window"},
    {"sliding_window", "limify_sliding_window"},
    {"sliding_window_counter", "limify_sliding_window_counter"},
};

// The state size the SQL function of `algorithm` reads for a limit of `L`
// (0 when unknown): a plugin of the same name with another layout must not
// be run natively.
size_t NativeStateSize(std::string_view algorithm, int64_t L) {
  if (algorithm == "token_bucket" || algorithm == "gcra" || algorithm == "fixed_window") {
    return 16;
  }
  if (algorithm == "sliding_window_counter") return 24;
  if (algorithm == "sliding_window") return 8 + 8 * static_cast<size_t>(L);
  return 0;
}

constexpr int kSweepBatchesPerInterval = 8;
constexpr size_t kPipelineSlice = 64;  // ops sent together by ExecuteBatch

int32_t CodeOf(const absl::Status& status) {
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return LIMIFY_PLUGIN_OK;
    case absl::StatusCode::kDeadlineExceeded:
      return LIMIFY_PLUGIN_TIMEOUT;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kResourceExhausted:
      return LIMIFY_PLUGIN_INTERNAL;
    default:
      // At run time a missing schema or a refused connection is the storage
      // failing: the failure policy decides.
      return LIMIFY_PLUGIN_UNAVAILABLE;
  }
}

void AppendHex(std::string* out, const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  for (size_t i = 0; i < size; ++i) {
    out->push_back(kDigits[data[i] >> 4]);
    out->push_back(kDigits[data[i] & 15]);
  }
}

// A bytea[] in the text form of an array: {"\\x6b31","\\x..."}.
template <typename Get>
void AppendByteaArray(std::string* out, size_t n, Get get) {
  out->push_back('{');
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) out->push_back(',');
    out->append("\"\\\\x");
    const auto [data, size] = get(i);
    AppendHex(out, static_cast<const unsigned char*>(data), size);
    out->push_back('"');
  }
  out->push_back('}');
}

std::string KeyArray(const limify_key* keys, size_t n) {
  std::string out;
  AppendByteaArray(&out, n, [&](size_t i) {
    return std::pair<const void*, size_t>(keys[i].data, keys[i].size);
  });
  return out;
}

std::string SpecArray(const limify_storage_op& op) {
  std::string out = "{";
  for (size_t i = 0; i < op.n_keys; ++i) {
    if (i > 0) out.push_back(',');
    out += std::to_string(op.specs[i].limit) + "," + std::to_string(op.specs[i].period_us) + "," +
           std::to_string(op.specs[i].burst);
  }
  out.push_back('}');
  return out;
}

// Copies `v` into the host's verdict, writing no byte past its struct_size.
void WriteVerdict(const limify_verdict& v, limify_verdict* out) {
  const size_t n = out->struct_size < sizeof v ? out->struct_size : sizeof v;
  const size_t skip = sizeof v.struct_size;
  if (n > skip) {
    std::memcpy(reinterpret_cast<unsigned char*>(out) + skip,
                reinterpret_cast<const unsigned char*>(&v) + skip, n - skip);
  }
}

// A native call's parameters as text: keys, cost, peek, specs, now (NULL:
// the server's clock).
struct NativeParams {
  std::string keys, cost, specs, now;
  const char* peek;
  bool has_now;

  NativeParams(const limify_storage_op& op, const PostgresStorage::Hooks* hooks)
      : keys(KeyArray(op.keys, op.n_keys)),
        cost(std::to_string(op.cost)),
        specs(SpecArray(op)),
        peek(op.mode == LIMIFY_MODE_PEEK ? "t" : "f"),
        has_now(hooks != nullptr && hooks->has_now) {
    if (has_now) now = std::to_string(hooks->now_us);
  }
  // For PQexecPrepared; valid while this object is neither changed nor moved.
  std::array<const char*, 5> Values() const {
    return {keys.c_str(), cost.c_str(), peek, specs.c_str(), has_now ? now.c_str() : nullptr};
  }
};

using PgResult = std::unique_ptr<PGresult, decltype(&PQclear)>;

// The SQL function's reply `r` read into *v. An error reply throws what
// libpqxx would have thrown (so that StatusFromException reads it the same
// way): pqxx::broken_connection when the connection is gone, otherwise a
// pqxx::sql_error with the server's SQLSTATE.
void ReadVerdict(PGconn* pg, const PGresult* r, limify_verdict* v) {
  if (r == nullptr || PQstatus(pg) != CONNECTION_OK) {
    throw pqxx::broken_connection(PQerrorMessage(pg));
  }
  if (PQresultStatus(r) == PGRES_FATAL_ERROR) {
    throw pqxx::sql_error(PQresultErrorMessage(r), "",
                          PQresultErrorField(r, PG_DIAG_SQLSTATE));
  }
  if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1 || PQnfields(r) != 6) {
    throw std::runtime_error("unexpected reply from the SQL function");
  }
  auto i64 = [&](int col) { return std::strtoll(PQgetvalue(r, 0, col), nullptr, 10); };
  v->struct_size = sizeof *v;
  v->allowed = PQgetvalue(r, 0, 0)[0] == 't' ? 1 : 0;
  v->limit = i64(1);
  v->remaining = i64(2);
  v->reset_after_us = i64(3);
  v->retry_after_us = i64(4);
  v->binding_limit = static_cast<uint32_t>(i64(5));
}

}  // namespace

PostgresStorage::PostgresStorage(const PostgresOptions& options, SetErrorFn set_error)
    : options_(options),
      set_error_(set_error),
      schema_(QuotedSchema(options.schema)),
      pool_(options.url, options.pool_size, std::chrono::milliseconds(options.connect_timeout_ms),
            options.statement_timeout_ms,
            [this](pqxx::connection_base& conn) { return Setup(conn); }) {
  if (options_.sweep_interval_ms > 0) sweeper_ = std::thread([this] { SweepLoop(); });
}

PostgresStorage::~PostgresStorage() {
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (sweeper_.joinable()) sweeper_.join();
}

absl::Status PostgresStorage::Setup(pqxx::connection_base& conn) {
  if (!schema_ready_.load(std::memory_order_acquire)) {
    std::lock_guard<std::mutex> lock(schema_mu_);
    if (!schema_ready_.load(std::memory_order_acquire)) {
      if (absl::Status s = EnsureSchema(conn, options_); !s.ok()) return s;
      schema_ready_.store(true, std::memory_order_release);
    }
  }
  // The native statements are prepared now: the checks run them through
  // libpq directly (PQexecPrepared), without libpqxx's per-call transaction
  // object, parameter conversions and result copy. libpqxx prepares the
  // others at their first use.
  for (const NativeAlgorithm& a : kNative) {
    conn.prepare(a.statement,
                 "SELECT allowed, lim, remaining, reset_after_us, retry_after_us, binding FROM " +
                     schema_ + "." + a.name +
                     "($1::bytea[], $2::bigint, $3::boolean, $4::bigint[], $5::bigint)");
    if (options_.native) conn.prepare_now(a.statement);
  }
  conn.prepare("limify_load",
               "SELECT " + schema_ + ".now_us(), u.i, u.st FROM " + schema_ +
                   ".load_states($1::bytea[], $2::boolean) AS l, "
                   "unnest(l.states) WITH ORDINALITY AS u(st, i) ORDER BY u.i");
  conn.prepare("limify_write", "SELECT " + schema_ +
                                   ".write_states($1::bytea[], $2::bytea[], $3::bigint[], $4::bigint)");
  conn.prepare("limify_remove", "DELETE FROM " + schema_ + ".state WHERE key = ANY($1::bytea[])");
  conn.prepare("limify_count", "SELECT count(*) FROM " + schema_ + ".state");
  conn.prepare("limify_sweep", "SELECT next_key, scanned, deleted FROM " + schema_ +
                                   ".sweep($1::bytea, $2::integer)");
  return absl::OkStatus();
}

absl::Status PostgresStorage::WarmUp() {
  absl::StatusOr<Pool::Lease> lease =
      pool_.Acquire(Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms));
  if (lease.ok()) return absl::OkStatus();
  const absl::Status& s = lease.status();
  // Not reachable now: connect on first use. Anything the server said no
  // to (the schema, a permission) is for the configuration to fix.
  if (s.code() == absl::StatusCode::kFailedPrecondition) return s;
  if (s.code() == absl::StatusCode::kUnavailable &&
      s.message().find("permission denied") != absl::string_view::npos) {
    return s;
  }
  return absl::OkStatus();
}

int32_t PostgresStorage::Fail(limify_plugin_error* err, const absl::Status& status) {
  // The schema vanished under us (dropped, or its creation lost in a crash
  // before it reached the disk): the next connection checks it again, and
  // migrates when allowed.
  if (status.code() == absl::StatusCode::kFailedPrecondition) {
    schema_ready_.store(false, std::memory_order_release);
  }
  const int32_t code = CodeOf(status);
  if (set_error_ != nullptr) set_error_(err, code, std::string(status.message()).c_str());
  return code;
}

Deadline PostgresStorage::NewDeadline() const {
  return Clock::now() + std::chrono::milliseconds(2 * options_.statement_timeout_ms);
}

const char* PostgresStorage::NativeStatement(const limify_storage_op& op,
                                             const Hooks* hooks) const {
  if (!options_.native || (hooks != nullptr && hooks->force_generic) || op.algorithm == nullptr ||
      op.specs == nullptr) {
    return nullptr;
  }
  const NativeAlgorithm* found = nullptr;
  for (const NativeAlgorithm& a : kNative) {
    if (std::strcmp(a.name, op.algorithm) == 0) found = &a;
  }
  if (found == nullptr) return nullptr;
  for (size_t i = 0; i < op.n_keys; ++i) {
    if (op.state_sizes[i] != NativeStateSize(op.algorithm, op.specs[i].limit)) return nullptr;
  }
  return found->statement;
}

int32_t PostgresStorage::Execute(const limify_storage_op& op, limify_verdict* out,
                                 limify_plugin_error* err, const Hooks* hooks) {
  if (const char* statement = NativeStatement(op, hooks)) {
    return Native(statement, op, hooks, out, err);
  }
  return Generic(op, hooks, out, err);
}

int32_t PostgresStorage::Native(const char* statement, const limify_storage_op& op,
                                const Hooks* hooks, limify_verdict* out,
                                limify_plugin_error* err) {
  const Deadline deadline = NewDeadline();
  absl::StatusOr<Pool::Lease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) return Fail(err, lease.status());
  const NativeParams params(op, hooks);
  const std::array<const char*, 5> values = params.Values();
  limify_verdict v{};
  const absl::Status s = pool_.Run(*lease, deadline, op.algorithm, [&](pqxx::connection_base&) {
    PGconn* pg = lease->slot().pg;
    const PgResult r(PQexecPrepared(pg, statement, 5, values.data(), nullptr, nullptr, 0),
                     &PQclear);
    ReadVerdict(pg, r.get(), &v);
  });
  if (!s.ok()) return Fail(err, s);
  WriteVerdict(v, out);
  counters_.native.fetch_add(1, std::memory_order_relaxed);
  return LIMIFY_PLUGIN_OK;
}

void PostgresStorage::ExecuteBatch(const limify_storage_op* const* ops, size_t n,
                                   limify_verdict* const* outs, int32_t* codes,
                                   limify_plugin_error* const* errs, const Hooks* hooks) {
  std::vector<const char*> statements(n);
  std::vector<size_t> native, others;
  for (size_t i = 0; i < n; ++i) {
    if (const char* problem = plugin::CheckStorageOp(ops[i], outs[i])) {
      if (set_error_ != nullptr) set_error_(errs[i], LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
      codes[i] = LIMIFY_PLUGIN_INVALID_ARGUMENT;
      continue;
    }
    statements[i] = NativeStatement(*ops[i], hooks);
    (statements[i] != nullptr ? native : others).push_back(i);
  }
  if (native.size() >= 2) {
    // In slices, each with a check's deadline, so that a long batch is not
    // cut off by the watchdog.
    for (size_t at = 0; at < native.size(); at += kPipelineSlice) {
      const std::vector<size_t> slice(
          native.begin() + at, native.begin() + std::min(native.size(), at + kPipelineSlice));
      Pipeline(ops, slice, statements, hooks, outs, codes, errs);
    }
  } else {
    others.insert(others.end(), native.begin(), native.end());
    std::sort(others.begin(), others.end());
  }
  for (size_t i : others) codes[i] = Execute(*ops[i], outs[i], errs[i], hooks);
}

void PostgresStorage::Pipeline(const limify_storage_op* const* ops,
                               const std::vector<size_t>& which,
                               const std::vector<const char*>& statements, const Hooks* hooks,
                               limify_verdict* const* outs, int32_t* codes,
                               limify_plugin_error* const* errs) {
  const size_t m = which.size();
  const Deadline deadline = NewDeadline();
  absl::StatusOr<Pool::Lease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) {
    for (size_t i : which) codes[i] = Fail(errs[i], lease.status());
    return;
  }
  std::vector<NativeParams> params;
  params.reserve(m);
  for (size_t i : which) params.emplace_back(*ops[i], hooks);
  std::vector<std::optional<absl::Status>> answers(m);  // nullopt: no answer came
  std::vector<limify_verdict> verdicts(m);
  const absl::Status s = pool_.Run(*lease, deadline, "batch", [&](pqxx::connection_base&) {
    PGconn* pg = lease->slot().pg;
    auto broken = [&](const char* what) {
      return pqxx::broken_connection(std::string(what) + ": " + PQerrorMessage(pg));
    };
    if (PQenterPipelineMode(pg) != 1) throw broken("cannot enter pipeline mode");
    for (size_t k = 0; k < m; ++k) {
      const std::array<const char*, 5> values = params[k].Values();
      if (PQsendQueryPrepared(pg, statements[which[k]], 5, values.data(), nullptr, nullptr, 0) !=
              1 ||
          PQpipelineSync(pg) != 1) {
        throw broken("sending the batch");
      }
    }
    for (size_t k = 0; k < m; ++k) {
      const PgResult r(PQgetResult(pg), &PQclear);
      try {
        ReadVerdict(pg, r.get(), &verdicts[k]);
        answers[k] = absl::OkStatus();
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        // This op failed alone (its own transaction): the others stand.
        bool drop = false;
        answers[k] = StatusFromException(e, ops[which[k]]->algorithm, &drop);
        if (drop) throw broken("the server ended the batch");
      }
      // The end of this op's results, then its Sync.
      const PgResult end(PQgetResult(pg), &PQclear);
      const PgResult sync(PQgetResult(pg), &PQclear);
      if (end != nullptr || sync == nullptr || PQresultStatus(sync.get()) != PGRES_PIPELINE_SYNC) {
        throw broken("reading the batch");
      }
    }
    if (PQexitPipelineMode(pg) != 1) throw broken("leaving pipeline mode");
  });
  for (size_t k = 0; k < m; ++k) {
    const size_t i = which[k];
    // An op answered before the connection failed did run: keep its answer.
    const absl::Status answer =
        answers[k].has_value() ? *answers[k]
                               : (s.ok() ? absl::UnknownError("postgres: batch: no answer") : s);
    if (!answer.ok()) {
      codes[i] = Fail(errs[i], answer);
      continue;
    }
    WriteVerdict(verdicts[k], outs[i]);
    counters_.native.fetch_add(1, std::memory_order_relaxed);
    codes[i] = LIMIFY_PLUGIN_OK;
  }
}

int32_t PostgresStorage::Generic(const limify_storage_op& op, const Hooks* hooks,
                                 limify_verdict* out, limify_plugin_error* err) {
  const Deadline deadline = NewDeadline();
  absl::StatusOr<Pool::Lease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) return Fail(err, lease.status());
  const size_t n = op.n_keys;
  const bool peek = op.mode == LIMIFY_MODE_PEEK;
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += op.state_sizes[i];
  std::vector<unsigned char> states(total, 0);
  std::vector<void*> state_ptrs(n);
  std::vector<int64_t> ttl_us(n, 0);
  const std::string keys = KeyArray(op.keys, n);
  int32_t apply_rc = LIMIFY_PLUGIN_OK;

  // Reads every state (missing, empty or mis-sized: fresh, i.e. zero bytes)
  // and the server's time from the load statement's rows.
  auto load = [&](pqxx::transaction_base& tx, bool lock) -> int64_t {
    const pqxx::result r = tx.exec_prepared("limify_load", keys, lock);
    if (r.size() != n) throw std::runtime_error("unexpected reply from load_states");
    int64_t now_us = 0;
    unsigned char* at = states.data();
    for (size_t i = 0; i < n; ++i) {
      now_us = r[i][0].as<int64_t>();
      state_ptrs[i] = at;
      if (!r[i][2].is_null()) {
        const pqxx::binarystring bytes(r[i][2]);
        if (bytes.size() == op.state_sizes[i]) std::memcpy(at, bytes.data(), bytes.size());
      }
      at += op.state_sizes[i];
    }
    return hooks != nullptr && hooks->has_now ? hooks->now_us : now_us;
  };

  const absl::Status s = pool_.Run(*lease, deadline, "generic path", [&](pqxx::connection_base&
                                                                             conn) {
    int write_back = 0;
    if (peek) {
      pqxx::nontransaction tx(conn);
      const int64_t now_us = load(tx, /*lock=*/false);
      apply_rc = op.apply(op.apply_ctx, state_ptrs.data(), now_us, &write_back, ttl_us.data(),
                          out, err);
      tx.commit();
      return;
    }
    pqxx::work tx(conn);
    const int64_t now_us = load(tx, /*lock=*/true);
    apply_rc =
        op.apply(op.apply_ctx, state_ptrs.data(), now_us, &write_back, ttl_us.data(), out, err);
    if (apply_rc != LIMIFY_PLUGIN_OK || write_back == 0) {
      tx.abort();  // also removes the empty rows inserted to lock new keys
      return;
    }
    std::string new_states;
    AppendByteaArray(&new_states, n, [&](size_t i) {
      return std::pair<const void*, size_t>(state_ptrs[i], op.state_sizes[i]);
    });
    std::string ttls = "{";
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) ttls.push_back(',');
      ttls += std::to_string(ttl_us[i]);
    }
    ttls += "}";
    tx.exec_prepared("limify_write", keys, new_states, ttls, now_us);
    tx.commit();
  });
  if (!s.ok()) return Fail(err, s);
  if (apply_rc != LIMIFY_PLUGIN_OK) return apply_rc;  // the apply reported it
  counters_.generic.fetch_add(1, std::memory_order_relaxed);
  return LIMIFY_PLUGIN_OK;
}

int32_t PostgresStorage::Remove(const limify_key* keys, size_t n_keys, limify_plugin_error* err) {
  const Deadline deadline = NewDeadline();
  absl::StatusOr<Pool::Lease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) return Fail(err, lease.status());
  const std::string array = KeyArray(keys, n_keys);
  const absl::Status s = pool_.Run(*lease, deadline, "remove", [&](pqxx::connection_base& conn) {
    pqxx::nontransaction tx(conn);
    tx.exec_prepared("limify_remove", array);
    tx.commit();
  });
  return s.ok() ? LIMIFY_PLUGIN_OK : Fail(err, s);
}

int32_t PostgresStorage::KeyCount(int64_t* out, limify_plugin_error* err) {
  const Deadline deadline = NewDeadline();
  absl::StatusOr<Pool::Lease> lease = pool_.Acquire(deadline);
  if (!lease.ok()) return Fail(err, lease.status());
  const absl::Status s =
      pool_.Run(*lease, deadline, "key_count", [&](pqxx::connection_base& conn) {
        pqxx::nontransaction tx(conn);
        *out = tx.exec_prepared("limify_count")[0][0].as<int64_t>();
        tx.commit();
      });
  return s.ok() ? LIMIFY_PLUGIN_OK : Fail(err, s);
}

absl::StatusOr<int64_t> PostgresStorage::SweepOnce() {
  std::lock_guard<std::mutex> lock(sweep_mu_);
  sweep_cursor_ = "\\x";
  return SweepLocked(std::numeric_limits<int>::max());
}

absl::StatusOr<int64_t> PostgresStorage::SweepLocked(int max_batches) {
  if (sweep_conn_ == nullptr) {
    // Its own connection, and a statement_timeout fit for a batch.
    absl::StatusOr<ConnectionPtr> conn = OpenConnection(
        options_.url, Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms),
        std::max(options_.statement_timeout_ms, 5000));
    if (!conn.ok()) return conn.status();
    try {
      if (absl::Status s = Setup(**conn); !s.ok()) return s;
    } catch (const std::exception& e) {
      bool drop = false;
      return StatusFromException(e, "sweeper setup", &drop);
    }
    sweep_conn_ = std::move(*conn);
  }
  int64_t deleted = 0;
  try {
    for (int batch = 0; batch < max_batches; ++batch) {
      pqxx::nontransaction tx(*sweep_conn_);
      const pqxx::row row = tx.exec_prepared1("limify_sweep", sweep_cursor_, options_.sweep_batch);
      deleted += row[2].as<int64_t>();
      sweep_cursor_ = "\\x";  // the empty key sorts first: the next pass starts over
      if (row[0].is_null()) break;
      const pqxx::binarystring next(row[0]);
      AppendHex(&sweep_cursor_, next.data(), next.size());
    }
  } catch (const std::exception& e) {
    bool drop = false;
    absl::Status s = StatusFromException(e, "sweep", &drop);
    if (drop || !sweep_conn_->is_open()) sweep_conn_.reset();
    return s;
  }
  counters_.swept.fetch_add(static_cast<uint64_t>(deleted), std::memory_order_relaxed);
  return deleted;
}

void PostgresStorage::SweepLoop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  const auto interval = std::chrono::milliseconds(options_.sweep_interval_ms);
  while (!stop_cv_.wait_for(lock, interval, [&] { return stopping_; })) {
    lock.unlock();
    {
      // A few batches per interval, resuming where the last one stopped:
      // the table is walked a bounded slice at a time.
      std::lock_guard<std::mutex> sweep_lock(sweep_mu_);
      (void)SweepLocked(kSweepBatchesPerInterval);  // a failure is retried at the next interval
    }
    lock.lock();
  }
}

}  // namespace limify::postgres
