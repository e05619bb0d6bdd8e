#include "plugins/storage/sqlite/sqlite_storage.h"

#include <unistd.h>

#include <limits>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"

namespace limify::sqlite {
namespace {

// Sized for the common case (a rule has a few limits) so that a step on a
// warm connection allocates nothing.
constexpr size_t kInlineKeys = 8;
constexpr int64_t kSweepIntervalUs = 1'000'000;

int64_t ExpiryAt(int64_t now_us, int64_t ttl_us) {
  if (now_us > std::numeric_limits<int64_t>::max() - ttl_us) {
    return std::numeric_limits<int64_t>::max();
  }
  return now_us + ttl_us;
}

}  // namespace

// A connection lent by the pool; returns it (or closes it, if broken) when
// destroyed, rolling back any transaction left open by an early return.
class SqliteStorage::Lease {
 public:
  Lease(SqliteStorage* owner, std::unique_ptr<Connection> c)
      : owner_(owner), c_(std::move(c)) {}
  Lease(Lease&& other) noexcept = default;
  Lease& operator=(Lease&&) = delete;
  ~Lease() {
    if (c_ != nullptr) {
      c_->Rollback();
      owner_->Release(std::move(c_));
    }
  }
  Connection& operator*() const { return *c_; }
  Connection* operator->() const { return c_.get(); }

 private:
  SqliteStorage* owner_;
  std::unique_ptr<Connection> c_;
};

SqliteStorage::SqliteStorage(const SqliteOptions& options, HostClock clock)
    : options_(options),
      clock_(clock),
      max_connections_(options.in_memory() ? 1 : options.connections),
      pool_pid_(getpid()) {}

SqliteStorage::~SqliteStorage() = default;

absl::StatusOr<std::unique_ptr<SqliteStorage>> SqliteStorage::Create(
    const SqliteOptions& options, HostClock clock) {
  std::unique_ptr<SqliteStorage> storage(new SqliteStorage(options, clock));
  absl::StatusOr<std::unique_ptr<Connection>> first =
      Connection::Open(storage->options_, storage->NewDeadline());
  if (!first.ok()) return first.status();
  {
    std::lock_guard<std::mutex> lock(storage->pool_mu_);
    storage->idle_.push_back(*std::move(first));
    storage->open_ = 1;
  }
  return storage;
}

Deadline SqliteStorage::NewDeadline() const {
  return std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.busy_timeout_ms);
}

absl::StatusOr<SqliteStorage::Lease> SqliteStorage::Acquire(Deadline deadline) {
  {
    std::unique_lock<std::mutex> lock(pool_mu_);
    // In a child forked after the connections were opened: abandon them (a
    // private ":memory:" copy is this process's own and stays usable).
    if (!options_.in_memory() && pool_pid_ != getpid()) {
      for (std::unique_ptr<Connection>& c : idle_) c.release();  // leaked on purpose
      idle_.clear();
      open_ = 0;
      pool_pid_ = getpid();
    }
    while (idle_.empty() && open_ >= max_connections_) {
      if (pool_cv_.wait_until(lock, deadline) == std::cv_status::timeout &&
          idle_.empty() && open_ >= max_connections_) {
        return absl::DeadlineExceededError(absl::StrCat(
            "database \"", options_.path, "\": all ", max_connections_,
            " connections stayed busy for longer than busy_timeout_ms = ",
            options_.busy_timeout_ms));
      }
    }
    if (!idle_.empty()) {
      std::unique_ptr<Connection> c = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      c->set_deadline(deadline);
      return Lease(this, std::move(c));
    }
    ++open_;  // reserve the slot, open outside the lock
  }
  absl::StatusOr<std::unique_ptr<Connection>> c = Connection::Open(options_, deadline);
  if (!c.ok()) {
    {
      std::lock_guard<std::mutex> lock(pool_mu_);
      --open_;
    }
    pool_cv_.notify_one();
    return c.status();
  }
  return Lease(this, *std::move(c));
}

void SqliteStorage::Release(std::unique_ptr<Connection> connection) {
  {
    std::lock_guard<std::mutex> lock(pool_mu_);
    if (connection->broken()) {
      --open_;
    } else {
      idle_.push_back(std::move(connection));
    }
  }
  pool_cv_.notify_one();
  // A broken connection is closed here, outside the pool's lock.
}

bool SqliteStorage::TakeTurn(Deadline deadline) {
  std::unique_lock<std::mutex> lock(turn_mu_);
  if (!turn_cv_.wait_until(lock, deadline, [this] { return !turn_taken_; })) return false;
  turn_taken_ = true;
  return true;
}

void SqliteStorage::EndTurn() {
  {
    std::lock_guard<std::mutex> lock(turn_mu_);
    turn_taken_ = false;
  }
  turn_cv_.notify_one();
}

absl::Status SqliteStorage::MaybeSweep(Connection& c, int64_t now_us) {
  // Due once a second, again right away while a backlog remains, and when
  // the clock went back. Overflow (the first sweep, from INT64_MIN) counts
  // as "due".
  int64_t elapsed = 0;
  if (!sweep_again_ && !__builtin_sub_overflow(now_us, last_sweep_us_, &elapsed) &&
      elapsed >= 0 && elapsed < kSweepIntervalUs) {
    return absl::OkStatus();
  }
  absl::StatusOr<Connection::SweepResult> step =
      c.Sweep(now_us, options_.sweep_batch, &sweep_cursor_);
  if (!step.ok()) return step.status();
  last_sweep_us_ = now_us;
  sweep_again_ = step->deleted * 4 >= static_cast<int64_t>(options_.sweep_batch);
  return absl::OkStatus();
}

absl::Status SqliteStorage::Execute(const limify_storage_op& op, limify_verdict* out,
                                    limify_plugin_error* err, int32_t* apply_rc) {
  *apply_rc = LIMIFY_PLUGIN_OK;
  const Deadline deadline = NewDeadline();
  const bool write = op.mode != LIMIFY_MODE_PEEK;
  if (write && !TakeTurn(deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "database \"", options_.path,
        "\": other threads of this process held the write lock for longer than "
        "busy_timeout_ms = ",
        options_.busy_timeout_ms));
  }
  struct TurnGuard {
    SqliteStorage* self;
    bool held;
    ~TurnGuard() {
      if (held) self->EndTurn();
    }
  } turn{this, write};

  absl::StatusOr<Lease> lease = Acquire(deadline);
  if (!lease.ok()) return lease.status();
  Connection& c = **lease;
  if (absl::Status s = c.Begin(write); !s.ok()) return s;
  const int64_t now = clock_.Now();  // under the lock: time never goes back per key

  const size_t n = op.n_keys;
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += op.state_sizes[i];
  std::vector<uint8_t>& scratch = c.scratch();
  if (scratch.size() < total) scratch.resize(total);
  absl::InlinedVector<void*, kInlineKeys> states(n);
  for (size_t i = 0, offset = 0; i < n; ++i) {
    uint8_t* state = scratch.data() + offset;
    states[i] = state;
    offset += op.state_sizes[i];
    if (absl::Status s = c.Load(op.keys[i], now, state, op.state_sizes[i]); !s.ok()) return s;
  }

  int write_back = 0;
  absl::InlinedVector<int64_t, kInlineKeys> ttl_us(n, 0);
  *apply_rc = op.apply(op.apply_ctx, states.data(), now, &write_back, ttl_us.data(), out, err);
  if (*apply_rc != LIMIFY_PLUGIN_OK) return absl::OkStatus();  // the lease rolls back

  if (write) {
    if (write_back != 0) {
      for (size_t i = 0; i < n; ++i) {
        // A ttl of 0 means the state is already fresh: drop the row.
        absl::Status s = ttl_us[i] <= 0
                             ? c.Erase(op.keys[i])
                             : c.Store(op.keys[i], static_cast<const uint8_t*>(states[i]),
                                       op.state_sizes[i], ExpiryAt(now, ttl_us[i]));
        if (!s.ok()) return s;
      }
    }
    if (absl::Status s = MaybeSweep(c, now); !s.ok()) return s;
  }
  // A peek never writes (apply does not ask it to); its snapshot just ends.
  return c.Commit();
}

absl::Status SqliteStorage::Remove(absl::Span<const limify_key> keys) {
  const Deadline deadline = NewDeadline();
  if (!TakeTurn(deadline)) {
    return absl::DeadlineExceededError(absl::StrCat(
        "database \"", options_.path,
        "\": other threads of this process held the write lock for longer than "
        "busy_timeout_ms = ",
        options_.busy_timeout_ms));
  }
  struct TurnGuard {
    SqliteStorage* self;
    ~TurnGuard() { self->EndTurn(); }
  } turn{this};
  absl::StatusOr<Lease> lease = Acquire(deadline);
  if (!lease.ok()) return lease.status();
  Connection& c = **lease;
  if (absl::Status s = c.Begin(/*write=*/true); !s.ok()) return s;
  for (const limify_key& key : keys) {
    if (absl::Status s = c.Erase(key); !s.ok()) return s;
  }
  return c.Commit();
}

absl::StatusOr<int64_t> SqliteStorage::KeyCount() {
  absl::StatusOr<Lease> lease = Acquire(NewDeadline());
  if (!lease.ok()) return lease.status();
  return (*lease)->CountLive(clock_.Now());
}

}  // namespace limify::sqlite
