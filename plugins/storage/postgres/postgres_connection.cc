#include "plugins/storage/postgres/postgres_connection.h"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/socket.h>

#include <algorithm>
#include <new>
#include <stdexcept>
#include <utility>

#include <pqxx/basic_connection>
#include <pqxx/connectionpolicy>
#include <pqxx/except>
#include <pqxx/nontransaction>

namespace limify::postgres {
namespace {

// The deadline of the connection being opened on this thread: libpqxx hands
// a policy nothing but the connection string.
thread_local Deadline tls_connect_deadline;
// The handle the policy opened last on this thread, for OpenConnection.
thread_local PGconn* tls_connected = nullptr;

// Thrown by the policy when the server does not complete the startup in time.
struct ConnectTimeout : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string FirstLine(std::string_view text) {
  text = text.substr(0, text.find('\n'));
  while (!text.empty() && (text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  constexpr size_t kMax = 300;
  if (text.size() > kMax) return std::string(text.substr(0, kMax)) + "...";
  return std::string(text);
}

std::string ConnError(PGconn* c) {
  const char* msg = c != nullptr ? PQerrorMessage(c) : nullptr;
  return FirstLine(msg != nullptr && *msg != '\0' ? msg : "connection failed");
}

// libpqxx's connection policy, opening the connection asynchronously and
// polling it until tls_connect_deadline.
class TimedConnect final : public pqxx::connectionpolicy {
 public:
  explicit TimedConnect(const std::string& options) : pqxx::connectionpolicy(options) {}

  handle do_startconnect(handle orig) override {
    if (orig != nullptr) return orig;
    PGconn* c = PQconnectStart(options().c_str());
    if (c == nullptr) throw std::bad_alloc();
    if (PQstatus(c) == CONNECTION_BAD) {
      const std::string why = ConnError(c);
      PQfinish(c);
      throw pqxx::broken_connection(why);
    }
    // As if PQconnectPoll had answered WRITING (libpq's documented start).
    PostgresPollingStatusType state = PGRES_POLLING_WRITING;
    for (;;) {
      if (state == PGRES_POLLING_OK) {
        tls_connected = c;
        return c;
      }
      if (state == PGRES_POLLING_FAILED) {
        const std::string why = ConnError(c);
        PQfinish(c);
        throw pqxx::broken_connection(why);
      }
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(tls_connect_deadline -
                                                                     Clock::now());
      pollfd p{PQsocket(c), static_cast<short>(state == PGRES_POLLING_READING ? POLLIN : POLLOUT),
               0};
      const int ready = left.count() > 0 ? ::poll(&p, 1, static_cast<int>(left.count())) : 0;
      if (ready == 0) {
        PQfinish(c);
        throw ConnectTimeout("the server did not complete the connection in time");
      }
      state = PQconnectPoll(c);
    }
  }
  handle do_completeconnect(handle orig) override { return orig; }
};
using TimedConnection = pqxx::basic_connection_base<TimedConnect>;

bool StartsWith(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

}  // namespace

void ConnectionDeleter::operator()(pqxx::connection_base* conn) const {
  delete static_cast<TimedConnection*>(conn);  // OpenConnection makes nothing else
}

absl::StatusOr<ConnectionPtr> OpenConnection(const std::string& url, Deadline deadline,
                                             int statement_timeout_ms, PGconn** raw) {
  tls_connect_deadline = deadline;
  tls_connected = nullptr;
  try {
    auto conn = std::make_unique<TimedConnection>(url);
    // A broken connection must fail the check, not be reopened by libpqxx
    // and the statement sent again (which could consume twice).
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
    pqxx::nontransaction tx(*conn);
    tx.exec("SET statement_timeout = " + std::to_string(statement_timeout_ms));
    tx.commit();
    if (raw != nullptr) *raw = tls_connected;
    return ConnectionPtr(conn.release());
  } catch (const ConnectTimeout& e) {
    return absl::DeadlineExceededError(std::string("postgres: cannot connect: ") + e.what());
  } catch (const std::exception& e) {
    bool drop = false;
    absl::Status s = StatusFromException(e, "connect", &drop);
    if (s.code() == absl::StatusCode::kInternal) return s;
    return absl::UnavailableError("postgres: cannot connect: " + FirstLine(e.what()));
  }
}

absl::Status StatusFromException(const std::exception& e, const std::string& what,
                                 bool* drop_connection) {
  const std::string message = "postgres: " + what + ": " + FirstLine(e.what());
  if (dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    *drop_connection = true;
    return absl::UnavailableError(message);
  }
  // libpqxx 6.4 leaves sqlstate() empty for some of its own subclasses
  // (insufficient_privilege): recognise those by type.
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr) {
    return absl::UnavailableError(message + " (see the grants the storage needs)");
  }
  if (dynamic_cast<const pqxx::insufficient_resources*>(&e) != nullptr) {
    return absl::UnavailableError(message);
  }
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e)) {
    const std::string& state = sql->sqlstate();
    if (state == "57014" || state == "55P03") {  // statement_timeout, lock_timeout
      return absl::DeadlineExceededError(message);
    }
    // Connection exceptions, an administrator's shutdown, a server starting.
    if (StartsWith(state, "08") || StartsWith(state, "57P")) {
      *drop_connection = true;
      return absl::UnavailableError(message);
    }
    // Out of resources (too many connections, disk full), a standby that
    // cannot write, serialization failures and deadlocks: transient.
    if (StartsWith(state, "53") || state == "25006" || StartsWith(state, "40")) {
      return absl::UnavailableError(message);
    }
    // The schema is missing or not ours (dropped while running, or a
    // function from an older version): the connection's prepared
    // statements are stale, so start over with a new one.
    if (state == "3F000" || state == "42883" || state == "42P01" || state == "26000") {
      *drop_connection = true;
      return absl::FailedPreconditionError(message +
                                           " (is the schema installed? see \"migrate\")");
    }
    if (state == "42501") return absl::UnavailableError(message + " (see the grants the storage needs)");
    return absl::InternalError(message);
  }
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) {
    return absl::ResourceExhaustedError(message);
  }
  return absl::InternalError(message);
}

Pool::Pool(std::string url, int size, std::chrono::milliseconds connect_timeout,
           int statement_timeout_ms, SetupFn setup)
    : url_(std::move(url)),
      connect_timeout_(connect_timeout),
      statement_timeout_ms_(statement_timeout_ms),
      setup_(std::move(setup)) {
  for (int i = 0; i < size; ++i) {
    slots_.push_back(std::make_unique<Slot>());
    free_.push_back(slots_.back().get());
  }
  watchdog_ = std::thread([this] { Watch(); });
}

Pool::~Pool() {
  {
    std::lock_guard<std::mutex> lock(watch_mu_);
    stopping_ = true;
  }
  watch_cv_.notify_all();
  watchdog_.join();
}

absl::StatusOr<Pool::Lease> Pool::Acquire(Deadline deadline) {
  Slot* slot = nullptr;
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!cv_.wait_until(lock, deadline, [&] { return !free_.empty(); })) {
      return absl::DeadlineExceededError("postgres: every connection of the pool (" +
                                         std::to_string(slots_.size()) +
                                         ") stayed busy until the deadline");
    }
    slot = free_.back();
    free_.pop_back();
  }
  Lease lease(this, slot);
  if (slot->conn == nullptr) {
    PGconn* pg = nullptr;
    absl::StatusOr<ConnectionPtr> conn =
        OpenConnection(url_, Clock::now() + connect_timeout_, statement_timeout_ms_, &pg);
    if (!conn.ok()) return conn.status();
    absl::Status ready;
    try {
      ready = setup_(**conn);
    } catch (const std::exception& e) {
      bool drop = false;
      ready = StatusFromException(e, "connection setup", &drop);
    }
    if (!ready.ok()) return ready;
    std::lock_guard<std::mutex> guard(slot->guard_mu);
    slot->fd = (*conn)->sock();
    slot->pg = pg;
    slot->conn = std::move(*conn);
    connects_.fetch_add(1, std::memory_order_relaxed);
  }
  return lease;
}

absl::Status Pool::Run(Lease& lease, Deadline deadline, const std::string& what,
                       const std::function<void(pqxx::connection_base&)>& body) {
  Slot& slot = lease.slot();
  {
    std::lock_guard<std::mutex> guard(slot.guard_mu);
    slot.statement_deadline = deadline;
    slot.timed_out = false;
  }
  absl::Status status;
  bool drop = false;
  try {
    body(*slot.conn);
  } catch (const std::exception& e) {
    status = StatusFromException(e, what, &drop);
  }
  bool timed_out = false;
  {
    std::lock_guard<std::mutex> guard(slot.guard_mu);
    slot.statement_deadline = Deadline{};
    timed_out = slot.timed_out;
  }
  if (timed_out) {
    drop = true;
    status = absl::DeadlineExceededError("postgres: " + what +
                                         ": no answer before the deadline (connection closed)");
  }
  if (drop || !slot.conn->is_open()) {
    std::lock_guard<std::mutex> guard(slot.guard_mu);
    slot.conn.reset();
    slot.fd = -1;
    slot.pg = nullptr;
  }
  return status;
}

void Pool::Release(Slot* slot) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    free_.push_back(slot);
  }
  cv_.notify_one();
}

void Pool::Watch() {
  const auto period = std::chrono::milliseconds(std::clamp(statement_timeout_ms_ / 2, 2, 50));
  std::unique_lock<std::mutex> lock(watch_mu_);
  while (!watch_cv_.wait_for(lock, period, [&] { return stopping_; })) {
    const Deadline now = Clock::now();
    for (const auto& slot : slots_) {
      std::lock_guard<std::mutex> guard(slot->guard_mu);
      if (slot->statement_deadline == Deadline{} || slot->timed_out ||
          now < slot->statement_deadline || slot->conn == nullptr) {
        continue;
      }
      // The statement's thread is blocked in libpq: make its socket fail.
      slot->timed_out = true;
      if (slot->fd >= 0) ::shutdown(slot->fd, SHUT_RDWR);
    }
  }
}

}  // namespace limify::postgres
