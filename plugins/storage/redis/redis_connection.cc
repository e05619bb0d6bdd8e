#include "plugins/storage/redis/redis_connection.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <exception>
#include <new>

#include "limify/plugin.h"
#include "plugins/storage/redis/busy_poll.h"
#include "plugins/storage/redis/futex.h"

namespace limify::redis {
namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(100);
// The receive timeout asked of the socket: a blocking recv wakes up about
// this often to look at the clock.
constexpr auto kRecvQuantum = std::chrono::milliseconds(1);
// The least time left for which ReadSome still waits in a blocking recv.
constexpr auto kMinBlockingRecvMargin = std::chrono::milliseconds(20);

std::string ErrnoText(const char* what, int err) {
  return std::string(what) + ": " + std::strerror(err);
}

// Waits until `fd` is ready for `events` or `deadline` passes.
int32_t WaitFd(int fd, short events, Deadline deadline, std::string* error) {
  for (;;) {
    const auto left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      *error = events == POLLOUT ? "timed out writing" : "timed out waiting for a reply";
      return LIMIFY_PLUGIN_TIMEOUT;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    struct timespec ts = {static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
    struct pollfd p = {fd, events, 0};
    const int rc = ::ppoll(&p, 1, &ts, nullptr);
    if (rc > 0) return LIMIFY_PLUGIN_OK;  // ready, or an error the next I/O reports
    if (rc < 0 && errno != EINTR) {
      *error = ErrnoText("poll", errno);
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
  }
}

// Writes `data` by `deadline`; `*done` is how much went out, all of it on OK.
int32_t WriteAll(int fd, const char* data, size_t size, Deadline deadline, size_t* done_out,
                 std::string* error) {
  size_t& done = *done_out;
  done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n > 0) {
      done += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      const int32_t rc = WaitFd(fd, POLLOUT, deadline, error);
      if (rc != LIMIFY_PLUGIN_OK) return rc;
      continue;
    }
    *error = ErrnoText("write", n < 0 ? errno : EPIPE);
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  return LIMIFY_PLUGIN_OK;
}

// How long before a deadline ReadSome stops waiting in a blocking recv. The
// kernel rounds SO_RCVTIMEO up to its tick (1 ms reads back as 4000 us at
// HZ=250) and such a recv was measured returning ~10 ms, up to 16 ms, after
// it was called: several ticks, and at least kMinBlockingRecvMargin. The tick
// is the kernel's, the same for every socket: read once, from the first.
Clock::duration BlockingRecvMargin(int fd) {
  static const Clock::duration margin = [fd] {
    timeval tv{};
    socklen_t len = sizeof tv;
    Clock::duration tick = kRecvQuantum;
    if (::getsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, &len) == 0) {
      tick = std::chrono::seconds(tv.tv_sec) + std::chrono::microseconds(tv.tv_usec);
    }
    return std::max<Clock::duration>(kMinBlockingRecvMargin, 5 * tick);
  }();
  return margin;
}

// Waits a little for data and reads what is there: `*got` bytes, or none if
// none came within about one receive timeout (the caller looks at its queue
// and calls again); TIMEOUT once `deadline` has passed with nothing there.
// The socket blocks with SO_RCVTIMEO = kRecvQuantum (see OpenSocket), so
// while plenty of time is left the wait is the recv itself, one syscall
// instead of a poll and a recv. Close to the deadline (and past it: a reply
// already there is still taken) the recv does not block and the wait is a
// precise poll. Until `poll_until`, while the caller's call is the only one
// in progress, the recv does not block either: busy polling (busy_poll.h).
int32_t ReadSome(int fd, char* buf, size_t cap, Deadline deadline, Deadline poll_until,
                 size_t* got, std::string* error) {
  const bool precise = deadline - Clock::now() < BlockingRecvMargin(fd);
  *got = 0;
  for (;;) {
    // (Deadline{}: no polling, and no clock read for it on the busy path.)
    const bool polling = !precise && poll_until != Deadline{} && Clock::now() < poll_until &&
                         CallInProgress::Alone();
    const ssize_t n = ::recv(fd, buf, cap, precise || polling ? MSG_DONTWAIT : 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return LIMIFY_PLUGIN_OK;
    }
    if (n == 0) {
      *error = "connection closed by the server";
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      *error = ErrnoText("read", errno);
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    if (polling) continue;
    if (!precise) return LIMIFY_PLUGIN_OK;  // the receive timeout: nothing yet
    const int32_t rc =
        WaitFd(fd, POLLIN, std::min<Deadline>(deadline, Clock::now() + kRecvQuantum), error);
    if (rc == LIMIFY_PLUGIN_TIMEOUT && Clock::now() < deadline) return LIMIFY_PLUGIN_OK;
    if (rc != LIMIFY_PLUGIN_OK) return rc;
  }
}

// A non-blocking connect to one address, bounded by `deadline`.
int32_t ConnectAddress(const sockaddr* addr, socklen_t len, int family, Deadline deadline,
                       int* out_fd, std::string* error) {
  const int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *error = ErrnoText("socket", errno);
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  if (::connect(fd, addr, len) != 0) {
    if (errno != EINPROGRESS && errno != EAGAIN) {
      *error = ErrnoText("connect", errno);
      ::close(fd);
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    int32_t rc = WaitFd(fd, POLLOUT, deadline, error);
    if (rc != LIMIFY_PLUGIN_OK) {
      if (rc == LIMIFY_PLUGIN_TIMEOUT) *error = "connect timed out";
      ::close(fd);
      return rc;
    }
    int so_error = 0;
    socklen_t so_len = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len);
    if (so_error != 0) {
      *error = ErrnoText("connect", so_error);
      ::close(fd);
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
  }
  if (family != AF_UNIX) {
    const int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  // Connected: from now on reads block, each for at most kRecvQuantum
  // (ReadSome); writes never block (MSG_DONTWAIT, WriteAll).
  const timeval quantum = {0, static_cast<suseconds_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(kRecvQuantum).count())};
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quantum, sizeof quantum) != 0 ||
      ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
    *error = ErrnoText("setting up the socket", errno);
    ::close(fd);
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  BlockingRecvMargin(fd);  // reads the kernel's tick back now, off the reply path
  *out_fd = fd;
  return LIMIFY_PLUGIN_OK;
}

int32_t OpenSocket(const Endpoint& endpoint, Deadline deadline, int* fd, std::string* error) {
  if (!endpoint.unix_path.empty()) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (endpoint.unix_path.size() >= sizeof addr.sun_path) {
      *error = "socket path too long";
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    std::memcpy(addr.sun_path, endpoint.unix_path.data(), endpoint.unix_path.size());
    return ConnectAddress(reinterpret_cast<const sockaddr*>(&addr), sizeof addr, AF_UNIX,
                          deadline, fd, error);
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(endpoint.port);
  const int gai = ::getaddrinfo(endpoint.host.c_str(), port.c_str(), &hints, &found);
  if (gai != 0) {
    *error = "resolving \"" + endpoint.host + "\": " + ::gai_strerror(gai);
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  int32_t rc = LIMIFY_PLUGIN_UNAVAILABLE;
  for (addrinfo* a = found; a != nullptr; a = a->ai_next) {
    rc = ConnectAddress(a->ai_addr, a->ai_addrlen, a->ai_family, deadline, fd, error);
    if (rc == LIMIFY_PLUGIN_OK || rc == LIMIFY_PLUGIN_TIMEOUT) break;
  }
  ::freeaddrinfo(found);
  return rc;
}

// AUTH and SELECT on a fresh connection, before anyone else uses it.
int32_t Handshake(int fd, const ConnectionConfig& config, Deadline deadline,
                  std::string* error) {
  std::string out;
  CommandBuilder b(&out);
  int n = 0;
  if (!config.password.empty()) {
    b.Begin(config.user.empty() ? 2 : 3);
    b.Arg("AUTH");
    if (!config.user.empty()) b.Arg(config.user);
    b.Arg(config.password);
    ++n;
  }
  if (config.db != 0) {
    b.Begin(2);
    b.Arg("SELECT");
    b.Int(config.db);
    ++n;
  }
  if (n == 0) return LIMIFY_PLUGIN_OK;
  size_t sent = 0;
  int32_t rc = WriteAll(fd, out.data(), out.size(), deadline, &sent, error);
  if (rc != LIMIFY_PLUGIN_OK) return rc;
  redisReader* reader = redisReaderCreate();
  if (reader == nullptr) {
    *error = "out of memory";
    return LIMIFY_PLUGIN_INTERNAL;
  }
  char buf[512];
  for (int got = 0; got < n && rc == LIMIFY_PLUGIN_OK;) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader, &raw) != REDIS_OK) {
      *error = "protocol error during the handshake";
      rc = LIMIFY_PLUGIN_UNAVAILABLE;
      break;
    }
    if (raw != nullptr) {
      ReplyPtr reply(static_cast<redisReply*>(raw));
      if (IsError(reply.get())) {
        *error = std::string(config.password.empty() || got == 1 ? "SELECT" : "AUTH") +
                 " refused: " + std::string(ReplyText(reply.get()));
        rc = LIMIFY_PLUGIN_UNAVAILABLE;
      }
      ++got;
      continue;
    }
    size_t len = 0;
    rc = ReadSome(fd, buf, sizeof buf, deadline, Deadline{}, &len, error);
    if (rc == LIMIFY_PLUGIN_OK && len > 0) redisReaderFeed(reader, buf, len);
  }
  redisReaderFree(reader);
  return rc;
}

// Gives a role back on every way out of a scope: calls `release(unwinding)`,
// `unwinding` telling whether an exception is leaving the scope.
template <typename Release>
class RoleGuard {
 public:
  explicit RoleGuard(Release release)
      : release_(std::move(release)), exceptions_(std::uncaught_exceptions()) {}
  RoleGuard(const RoleGuard&) = delete;
  RoleGuard& operator=(const RoleGuard&) = delete;
  ~RoleGuard() { release_(std::uncaught_exceptions() > exceptions_); }

 private:
  Release release_;
  const int exceptions_;
};

// Failing must not fail: a text that needs memory there is none of is left
// empty (the code still says what happened).
template <typename Make>
void SetText(std::string* to, Make make) noexcept {
  try {
    *to = make();
  } catch (const std::bad_alloc&) {
    to->clear();
  }
}

}  // namespace

// How a caller waits: a futex word of its own, which the reader (or the
// failing of the connection) sets, under the connection's lock, after
// filling the caller's replies, code and error. The caller reads them after
// seeing kDone, without the lock. It lives on the caller's stack; a wake that
// arrives after the caller has returned is a spurious wake for whatever uses
// that address next, which every futex user tolerates (glibc's mutexes do
// the same).
struct Connection::Waiter {
  enum : uint32_t { kWaiting = 0, kDone = 1, kLead = 2 /* take the reader role */ };
  ReplyPtr* replies;
  std::string* error;
  int32_t code = LIMIFY_PLUGIN_OK;
  std::atomic<uint32_t> state{kWaiting};
  Waiter* wake_next = nullptr;  // set before kDone: whom to wake on the way out
  Waiter* chain_prev = nullptr;  // the reader's, under the lock (WakeChain::Seal)

  // Once kDone: wakes the next in the chain, if not done yet.
  void WakeNext() {
    if (wake_next != nullptr) FutexWake(&wake_next->state);
    wake_next = nullptr;
  }
};

// The callers a reader has answered, to be woken one after the other. Their
// kDone is published when the chain is sealed (always before the lock is
// released), from the last to the first: a caller that sees kDone before it
// is woken (awake anyway, or woken spuriously) wakes its next at once, and
// that next must be done by then, or it would take the wake, find itself
// still waiting, sleep again, and never be woken (seen: callers sleeping to
// their deadlines with their replies in).
struct Connection::WakeChain {
  Waiter* first = nullptr;
  Waiter* last = nullptr;  // added since the last Seal

  void Add(Waiter* w) {
    if (last != nullptr) {
      last->wake_next = w;
    } else {
      first = w;
    }
    w->chain_prev = last;
    last = w;
  }
  // Under the lock: publishes what was added since the last Seal.
  void Seal() {
    for (Waiter* w = last; w != nullptr;) {
      Waiter* prev = w->chain_prev;  // read first: once done, w may return and be gone
      w->state.store(Waiter::kDone, std::memory_order_release);
      w = prev;
    }
    last = nullptr;
  }
  // Once sealed (best without the lock): wakes the first, who wakes the rest.
  void WakeFirst() {
    if (first != nullptr) FutexWake(&first->state);
    first = nullptr;
  }
};

// A request awaiting its replies. Owned by the connection (reused through a
// free list): its caller may abandon it (waiter null), and the reader then
// drops its replies.
struct Connection::Slot {
  int expected = 1;
  int got = 0;
  Waiter* waiter = nullptr;
  Deadline sent_at{};
  uint64_t begin = 0;  // its commands' offset in the stream (see out_start_)
  size_t bytes = 0;
  Slot* next = nullptr;
};


Connection::Connection(const ConnectionConfig* config)
    : config_(config), busy_poll_(config->busy_poll) {}

Connection::~Connection() { CloseSocket(); }

void Connection::CloseSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = nullptr;
  broken_ = false;
}

Connection::Slot* Connection::AcquireSlot() {
  if (free_slots_.empty()) {
    free_slots_.reserve(slots_.size() + 1);  // so ReleaseSlot never allocates (nor throws)
    slots_.push_back(std::make_unique<Slot>());
    return slots_.back().get();
  }
  Slot* slot = free_slots_.back();
  free_slots_.pop_back();
  return slot;
}

void Connection::ReleaseSlot(Slot* slot) {
  slot->got = 0;
  slot->waiter = nullptr;
  slot->next = nullptr;
  free_slots_.push_back(slot);
}

int32_t Connection::Call(std::string_view commands, int n, Deadline deadline,
                         ReplyPtr* replies, std::string* error) {
  if (n < 1) {
    *error = "a call needs at least one command";
    return LIMIFY_PLUGIN_INTERNAL;
  }
  if (Clock::now() >= deadline) {
    *error = "no time left for the command";
    return LIMIFY_PLUGIN_TIMEOUT;
  }
  const CallInProgress in_progress;
  Waiter w{replies, error};
  std::unique_lock<std::mutex> lk(mu_);
  const int32_t rc = EnsureConnected(lk, deadline, error);
  if (rc != LIMIFY_PLUGIN_OK) return rc;
  // What may throw first, while nothing has changed.
  outbuf_.reserve(outbuf_.size() + commands.size());
  Slot* s = AcquireSlot();
  s->expected = n;
  s->waiter = &w;
  s->sent_at = Clock::now();
  s->begin = out_start_ + outbuf_.size();
  s->bytes = commands.size();
  outbuf_.append(commands);
  queued_ += static_cast<size_t>(n);
  if (tail_ != nullptr) {
    tail_->next = s;
  } else {
    head_ = s;
  }
  tail_ = s;
  if (!writing_ && in_flight_ < kWriteAheadCommands) Flush(lk, deadline, &w);
  for (;;) {
    // Under the lock here: the state changes only under it.
    const uint32_t state = w.state.load(std::memory_order_acquire);
    if (state == Waiter::kDone) break;
    if (!reading_) {
      // The role is free, or on its way to a sleeping caller: whoever gets
      // here first takes it (often the last reader, back with its next
      // command), sparing the pipeline the wait for that caller to run.
      if (lead_ != nullptr) lead_->state.store(Waiter::kWaiting, std::memory_order_relaxed);
      lead_ = nullptr;
      reading_ = true;
      WakeChain wake;
      RoleGuard release_reader([&](bool unwinding) {
        if (!lk.owns_lock()) lk.lock();
        if (unwinding) Fail(LIMIFY_PLUGIN_UNAVAILABLE, "an exception while reading");
        wake.Seal();
        ReleaseReader();
        lk.unlock();
        wake.WakeFirst();
      });
      if (ReadReplies(lk, &w, deadline, &wake)) Abandon(s);  // before passing the role on
      break;  // done (or failed), or gave up
    }
    if (Clock::now() >= deadline) {
      Abandon(s);
      break;
    }
    lk.unlock();
    // The reader sets kDone (or kLead) and wakes us; kDone needs no lock.
    while (w.state.load(std::memory_order_acquire) == Waiter::kWaiting &&
           Clock::now() < deadline) {
      FutexWait(&w.state, Waiter::kWaiting, deadline);
    }
    if (w.state.load(std::memory_order_acquire) == Waiter::kDone) break;
    lk.lock();
  }
  if (w.state.load(std::memory_order_acquire) != Waiter::kDone) {
    *error = config_->endpoint.ToString() + ": timed out waiting for a reply";
    return LIMIFY_PLUGIN_TIMEOUT;
  }
  w.WakeNext();
  return w.code;
}

int32_t Connection::EnsureConnected(std::unique_lock<std::mutex>& lk, Deadline deadline,
                                    std::string* error) {
  for (;;) {
    if (fd_ >= 0 && !broken_) return LIMIFY_PLUGIN_OK;
    if (connecting_ || (broken_ && (writing_ || reading_))) {
      // Someone else connects, or the failed connection still has I/O in
      // flight: wait for that to end (within our deadline).
      const uint64_t attempt = connect_attempts_;
      const bool was_connecting = connecting_;
      if (state_cv_.wait_until(lk, deadline) == std::cv_status::timeout &&
          Clock::now() >= deadline) {
        *error = "timed out waiting for the connection";
        return LIMIFY_PLUGIN_TIMEOUT;
      }
      if (was_connecting && connect_attempts_ != attempt && (fd_ < 0 || broken_)) {
        *error = last_error_;
        return LIMIFY_PLUGIN_UNAVAILABLE;
      }
      continue;
    }
    if (broken_) CloseSocket();
    const Deadline now = Clock::now();
    if (now < retry_at_) {
      *error = last_error_ + " (reconnecting)";
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    const Deadline connect_deadline = std::min(deadline, now + config_->connect_timeout);
    // Cut short by the caller's own deadline, a connect says nothing about the server.
    const bool callers_deadline = deadline < now + config_->connect_timeout;
    int fd = -1;
    std::string why;
    int32_t rc = LIMIFY_PLUGIN_OK;
    redisReader* reader = nullptr;
    {
      connecting_ = true;
      RoleGuard release_connecting([&](bool) {
        if (!lk.owns_lock()) lk.lock();
        connecting_ = false;
        state_cv_.notify_all();
      });
      lk.unlock();
      rc = OpenSocket(config_->endpoint, connect_deadline, &fd, &why);
      if (rc == LIMIFY_PLUGIN_OK) {
        rc = Handshake(fd, *config_, connect_deadline, &why);
        if (rc != LIMIFY_PLUGIN_OK) ::close(fd);
      }
      reader = rc == LIMIFY_PLUGIN_OK ? redisReaderCreate() : nullptr;
      if (rc == LIMIFY_PLUGIN_OK && reader == nullptr) {
        ::close(fd);
        why = "out of memory";
        rc = LIMIFY_PLUGIN_INTERNAL;
      }
    }
    if (rc == LIMIFY_PLUGIN_TIMEOUT && callers_deadline) {
      // Not a failure: no backoff, and the callers waiting for this attempt
      // (it does not count as one) try again themselves.
      *error = "connecting to " + config_->endpoint.ToString() + ": " + why;
      return LIMIFY_PLUGIN_TIMEOUT;
    }
    ++connect_attempts_;
    if (rc != LIMIFY_PLUGIN_OK) {
      ++failures_;
      const auto backoff = std::min<Clock::duration>(
          kMaxBackoff, std::chrono::milliseconds(1) * (1 << std::min(failures_ - 1, 10)));
      retry_at_ = Clock::now() + backoff;
      last_error_ = "connecting to " + config_->endpoint.ToString() + ": " + why;
      *error = last_error_;
      return rc == LIMIFY_PLUGIN_TIMEOUT ? LIMIFY_PLUGIN_TIMEOUT : LIMIFY_PLUGIN_UNAVAILABLE;
    }
    fd_ = fd;
    reader_ = reader;
    broken_ = false;
    failures_ = 0;
    connects_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool Connection::Flush(std::unique_lock<std::mutex>& lk, Deadline deadline, Waiter* self) {
  writing_ = true;
  RoleGuard release_writer([&](bool unwinding) {
    if (!lk.owns_lock()) lk.lock();
    if (unwinding) {
      writebuf_.clear();  // not to be swapped back into outbuf_
      Fail(LIMIFY_PLUGIN_UNAVAILABLE, "an exception while writing");
    }
    writing_ = false;
    if (broken_) state_cv_.notify_all();
  });
  bool timed_out = false;
  while (!outbuf_.empty() && !broken_ && !timed_out) {
    writebuf_.swap(outbuf_);
    out_start_ += writebuf_.size();
    handed_end_ = out_start_;
    in_flight_ += queued_;
    queued_ = 0;
    const int fd = fd_;
    lk.unlock();
    std::string why;
    size_t sent = 0;
    const int32_t rc = WriteAll(fd, writebuf_.data(), writebuf_.size(), deadline, &sent, &why);
    if (self != nullptr && self->state.load(std::memory_order_acquire) == Waiter::kDone) {
      self->WakeNext();  // answered meanwhile: the rest of its chain need not wait for our writes
    }
    lk.lock();
    if (rc == LIMIFY_PLUGIN_TIMEOUT && !broken_) {
      // Only this writer's deadline passed (the server reads slowly): the
      // rest goes out first in the next Flush; a stuck server is caught by
      // the stall check. Its commands stay counted in flight.
      outbuf_.insert(0, writebuf_, sent, std::string::npos);
      out_start_ -= writebuf_.size() - sent;
      timed_out = true;
    } else if (rc != LIMIFY_PLUGIN_OK && !broken_) {
      Fail(rc, why);  // the stream is broken
    }
    writebuf_.clear();
  }
  return !timed_out;
}

// Reads replies for everyone until `self` is done (false) or `deadline`
// passes (true: the caller gives up; the connection stays). The callers
// whose replies came in are chained in `wake`, to be sealed and woken by the
// caller.
bool Connection::ReadReplies(std::unique_lock<std::mutex>& lk, Waiter* self, Deadline deadline,
                             WakeChain* wake) {
  bool first_wait = true;  // the one that may poll: later ones wait on a slow reply
  while (self->state.load(std::memory_order_relaxed) != Waiter::kDone) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      Fail(LIMIFY_PLUGIN_UNAVAILABLE, std::string("protocol error: ") + reader_->errstr);
      return false;
    }
    if (raw != nullptr) {
      Deliver(static_cast<redisReply*>(raw), self, wake);
      continue;
    }
    // Commands held back while the server had enough in hand go out before
    // the reader waits again.
    if (!writing_ && !outbuf_.empty()) {
      // The callers answered so far need not wait for the write.
      wake->Seal();
      wake->WakeFirst();
      if (!Flush(lk, deadline, nullptr) &&
          self->state.load(std::memory_order_relaxed) != Waiter::kDone) {
        return true;  // our deadline passed mid-write
      }
      continue;
    }
    // The oldest request waits too long: the server is stuck, not slow.
    const Deadline stalled = head_->sent_at + config_->stall_timeout;
    const Deadline wait_until = std::min(deadline, stalled);
    const int fd = fd_;
    wake->Seal();
    lk.unlock();
    wake->WakeFirst();
    size_t got = 0;
    std::string why;
    const Deadline poll_until = first_wait ? busy_poll_.PollUntil(wait_until) : Deadline{};
    first_wait = false;
    const int32_t rc = ReadSome(fd, readbuf_, sizeof readbuf_, wait_until, poll_until, &got, &why);
    if (poll_until != Deadline{}) busy_poll_.Record(got > 0 && Clock::now() <= poll_until);
    lk.lock();
    if (self->state.load(std::memory_order_relaxed) == Waiter::kDone) return false;  // failed meanwhile
    if (rc == LIMIFY_PLUGIN_TIMEOUT) {
      if (Clock::now() >= deadline && wait_until == deadline) return true;
      Fail(LIMIFY_PLUGIN_TIMEOUT, "no reply for " +
                                      std::to_string(config_->stall_timeout.count()) + " ms");
      return false;
    }
    if (rc != LIMIFY_PLUGIN_OK) {
      Fail(rc, why);
      return false;
    }
    // Nothing yet: look at the queue again (a write cut short by its
    // caller's deadline left the rest of it there).
    if (got == 0) continue;
    redisReaderFeed(reader_, readbuf_, got);
  }
  // Replies already read for others are delivered now, not by the next reader.
  for (;;) {
    void* raw = nullptr;
    if (head_ == nullptr || redisReaderGetReply(reader_, &raw) != REDIS_OK || raw == nullptr) {
      break;
    }
    Deliver(static_cast<redisReply*>(raw), self, wake);
  }
  return false;
}

void Connection::Deliver(redisReply* reply, Waiter* self, WakeChain* wake) {
  Slot* h = head_;
  if (h == nullptr) {
    freeReplyObject(reply);
    Fail(LIMIFY_PLUGIN_UNAVAILABLE, "a reply nobody asked for (protocol out of step)");
    return;
  }
  Waiter* w = h->waiter;
  --in_flight_;
  if (w != nullptr) {
    w->replies[h->got].reset(reply);
  } else {
    freeReplyObject(reply);  // its caller gave up
  }
  if (++h->got < h->expected) return;
  head_ = h->next;
  if (head_ == nullptr) tail_ = nullptr;
  ReleaseSlot(h);
  if (w == nullptr) return;
  w->code = LIMIFY_PLUGIN_OK;
  if (w == self) {
    w->state.store(Waiter::kDone, std::memory_order_release);
  } else {
    wake->Add(w);  // kDone once the chain is sealed
  }
}

void Connection::ReleaseReader() {
  // The newest request whose caller still waits reads next: the most
  // replies are ahead of its own, so it keeps the role longest.
  Waiter* next = nullptr;
  for (Slot* q = head_; q != nullptr; q = q->next) {
    if (q->waiter != nullptr) next = q->waiter;
  }
  reading_ = false;
  lead_ = next;
  if (next != nullptr) {
    next->state.store(Waiter::kLead, std::memory_order_release);
    FutexWake(&next->state);
    return;
  }
  state_cv_.notify_all();
}

// Its caller gives up on `slot`. A command still wholly unsent is taken out
// of the output buffer and the queue, never to be sent; one handed to a
// write, even in part, stays, its replies to be read and dropped.
void Connection::Abandon(Slot* slot) {
  if (slot->begin < out_start_) {
    slot->waiter = nullptr;
    return;
  }
  Slot* prev = nullptr;
  for (Slot* q = head_; q != slot; q = q->next) prev = q;
  outbuf_.erase(slot->begin - out_start_, slot->bytes);
  if (slot->begin < handed_end_) {  // the rest of a write cut short: counted in flight
    in_flight_ -= static_cast<size_t>(slot->expected);
    handed_end_ -= slot->bytes;
  } else {
    queued_ -= static_cast<size_t>(slot->expected);
  }
  for (Slot* q = slot->next; q != nullptr; q = q->next) q->begin -= slot->bytes;
  (prev != nullptr ? prev->next : head_) = slot->next;
  if (tail_ == slot) tail_ = prev;
  ReleaseSlot(slot);
}

void Connection::Fail(int32_t code, std::string_view message) noexcept {
  broken_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes the role holders
  outbuf_.clear();
  queued_ = in_flight_ = 0;
  handed_end_ = out_start_;
  SetText(&last_error_,
          [&] { return config_->endpoint.ToString() + ": " + std::string(message); });
  for (Slot* q = head_; q != nullptr;) {
    Slot* next = q->next;
    Waiter* w = q->waiter;
    ReleaseSlot(q);
    if (w != nullptr) {
      w->code = code;
      SetText(w->error, [&] { return last_error_; });
      w->state.store(Waiter::kDone, std::memory_order_release);
      FutexWake(&w->state);
    }
    q = next;
  }
  head_ = tail_ = nullptr;
  lead_ = nullptr;  // completed above, if the role was on its way to it
}

Node::Node(ConnectionConfig config, int pool_size) : config_(std::move(config)) {
  pool_.reserve(static_cast<size_t>(pool_size));
  for (int i = 0; i < pool_size; ++i) pool_.push_back(std::make_unique<Connection>(&config_));
}

Connection& Node::Pick() {
  if (pool_.size() == 1) return *pool_[0];
  return *pool_[next_.fetch_add(1, std::memory_order_relaxed) % pool_.size()];
}

uint64_t Node::connects() const {
  uint64_t total = 0;
  for (const auto& c : pool_) total += c->connects();
  return total;
}

}  // namespace limify::redis
