// Connections to PostgreSQL for the postgres storage: libpqxx connections
// opened within a deadline, a fixed-size pool, and a watchdog that bounds
// every statement on the client side too.
//
// Why not libpqxx's own connection types: their connect waits as long as
// libpq's connect_timeout (whole seconds, at least 2), and a broken
// connection is silently reopened and the statement sent again, which could
// consume twice. Here a connection is opened with PQconnectStart and polled
// until the storage's deadline (milliseconds), automatic reactivation is off,
// and a broken connection is dropped and replaced on the next check.
//
// The server's statement_timeout bounds a slow statement, but not a server
// that stopped answering (a paused process, a dead host whose TCP stays
// open). The watchdog shuts down the socket of a statement that is still
// waiting past its deadline: libpq then fails at once, and the check
// reports TIMEOUT instead of hanging.
#ifndef LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_
#define LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <libpq-fe.h>

#include <pqxx/connection_base>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace limify::postgres {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// A connection opened by OpenConnection. pqxx::connection_base has no
// virtual destructor: the deleter destroys the concrete type.
struct ConnectionDeleter {
  void operator()(pqxx::connection_base* conn) const;
};
using ConnectionPtr = std::unique_ptr<pqxx::connection_base, ConnectionDeleter>;

// Opens a connection to `url` within `deadline`, with automatic reactivation
// off and statement_timeout set. Unavailable (with libpq's reason) when the
// server cannot be reached, DeadlineExceeded when it does not answer in time.
// `raw`, when given, receives libpq's handle of the connection (for what
// libpqxx 6 cannot do: pipeline mode); it lives as long as the connection.
absl::StatusOr<ConnectionPtr> OpenConnection(const std::string& url, Deadline deadline,
                                             int statement_timeout_ms, PGconn** raw = nullptr);

// What a libpqxx exception means for the storage: the status to report
// (naming `what`, e.g. "token_bucket"), and whether the connection must be
// dropped. Only the first line of the server's message is kept: a DETAIL
// line could quote a key. A missing schema, table or function (dropped
// while running, or lost in a crash) is FailedPrecondition.
absl::Status StatusFromException(const std::exception& e, const std::string& what,
                                 bool* drop_connection);

// A fixed number of connection slots. A slot is connected on first use and
// after its connection broke; statements run on a leased slot, one at a time.
class Pool {
 public:
  // Runs on every new connection (prepares statements, checks the schema).
  using SetupFn = std::function<absl::Status(pqxx::connection_base&)>;

  struct Slot {
    ConnectionPtr conn;
    // Guards what the watchdog reads: conn (set and reset), fd and the
    // statement's deadline.
    std::mutex guard_mu;
    // The connection's socket, taken when it was opened: the watchdog never
    // touches the connection object, which another thread is using.
    int fd = -1;
    PGconn* pg = nullptr;  // libpq's handle of conn (pipeline mode)
    Deadline statement_deadline{};  // Deadline{} when no statement is running
    bool timed_out = false;         // the watchdog shut the socket down
  };

  // A leased slot, returned to the pool on destruction.
  class Lease {
   public:
    Lease() = default;
    Lease(Pool* pool, Slot* slot) : pool_(pool), slot_(slot) {}
    Lease(Lease&& other) noexcept : pool_(other.pool_), slot_(other.slot_) {
      other.pool_ = nullptr;
      other.slot_ = nullptr;
    }
    Lease& operator=(Lease&&) = delete;
    ~Lease() {
      if (pool_ != nullptr) pool_->Release(slot_);
    }
    pqxx::connection_base& conn() { return *slot_->conn; }
    Slot& slot() { return *slot_; }

   private:
    Pool* pool_ = nullptr;
    Slot* slot_ = nullptr;
  };

  Pool(std::string url, int size, std::chrono::milliseconds connect_timeout,
       int statement_timeout_ms, SetupFn setup);
  Pool(const Pool&) = delete;
  Pool& operator=(const Pool&) = delete;
  ~Pool();

  // Waits for a free slot until `deadline` (DeadlineExceeded), connecting it
  // if needed (Unavailable when that fails).
  absl::StatusOr<Lease> Acquire(Deadline deadline);

  // Runs `body` on the leased connection, with the watchdog armed until
  // `deadline`. Any libpqxx exception becomes a status naming `what`; a
  // broken connection is dropped.
  absl::Status Run(Lease& lease, Deadline deadline, const std::string& what,
                   const std::function<void(pqxx::connection_base&)>& body);

  // Connections opened so far (tests: reconnection).
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }

 private:
  void Release(Slot* slot);
  void Watch();

  const std::string url_;
  const std::chrono::milliseconds connect_timeout_;
  const int statement_timeout_ms_;
  const SetupFn setup_;
  std::vector<std::unique_ptr<Slot>> slots_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Slot*> free_;  // guarded by mu_

  std::atomic<uint64_t> connects_{0};

  std::mutex watch_mu_;
  std::condition_variable watch_cv_;
  bool stopping_ = false;  // guarded by watch_mu_
  std::thread watchdog_;
};

}  // namespace limify::postgres

#endif  // LIMIFY_PLUGINS_STORAGE_POSTGRES_POSTGRES_CONNECTION_H_
