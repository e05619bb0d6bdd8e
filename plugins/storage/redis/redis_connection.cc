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

#include "limify/plugin.h"

namespace limify::redis {
namespace {

constexpr auto kMaxBackoff = std::chrono::milliseconds(100);

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

int32_t WriteAll(int fd, const char* data, size_t size, Deadline deadline, std::string* error) {
  size_t done = 0;
  while (done < size) {
    const ssize_t n = ::send(fd, data + done, size - done, MSG_NOSIGNAL);
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

// Waits for data and reads what is there (at least one byte).
int32_t ReadSome(int fd, char* buf, size_t cap, Deadline deadline, size_t* got,
                 std::string* error) {
  for (;;) {
    const int32_t rc = WaitFd(fd, POLLIN, deadline, error);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
    const ssize_t n = ::recv(fd, buf, cap, 0);
    if (n > 0) {
      *got = static_cast<size_t>(n);
      return LIMIFY_PLUGIN_OK;
    }
    if (n == 0) {
      *error = "connection closed by the server";
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
    *error = ErrnoText("read", errno);
    return LIMIFY_PLUGIN_UNAVAILABLE;
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
  int32_t rc = WriteAll(fd, out.data(), out.size(), deadline, error);
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
    rc = ReadSome(fd, buf, sizeof buf, deadline, &len, error);
    if (rc == LIMIFY_PLUGIN_OK) redisReaderFeed(reader, buf, len);
  }
  redisReaderFree(reader);
  return rc;
}

}  // namespace

// A request waiting for its replies; lives on its caller's stack until done.
struct Connection::Pending {
  int expected = 1;
  int got = 0;
  ReplyPtr* replies = nullptr;
  Deadline deadline{};
  std::string* error = nullptr;
  int32_t code = LIMIFY_PLUGIN_OK;
  bool done = false;
  bool lead = false;  // handed the reader role
  std::condition_variable cv;
  Pending* next = nullptr;
};

Connection::~Connection() { CloseSocket(); }

void Connection::CloseSocket() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  if (reader_ != nullptr) redisReaderFree(reader_);
  reader_ = nullptr;
  broken_ = false;
}

int32_t Connection::Call(std::string_view commands, int n, Deadline deadline,
                         ReplyPtr* replies, std::string* error) {
  Pending p;
  p.expected = n;
  p.replies = replies;
  p.deadline = deadline;
  p.error = error;
  std::unique_lock<std::mutex> lk(mu_);
  const int32_t rc = EnsureConnected(lk, deadline, error);
  if (rc != LIMIFY_PLUGIN_OK) return rc;
  outbuf_.append(commands);
  if (tail_ != nullptr) {
    tail_->next = &p;
  } else {
    head_ = &p;
  }
  tail_ = &p;
  if (!writing_) Flush(lk, deadline);
  while (!p.done) {
    if (!reading_ || p.lead) {
      reading_ = true;
      p.lead = false;
      ReadUntilDone(lk, &p);
      ReleaseReader();
    } else {
      p.cv.wait(lk);
    }
  }
  // Completed by a failure just as the reader role was handed over: pass it on.
  if (p.lead) {
    p.lead = false;
    ReleaseReader();
  }
  return p.code;
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
    connecting_ = true;
    lk.unlock();
    const Deadline connect_deadline = std::min(deadline, now + config_->connect_timeout);
    int fd = -1;
    std::string why;
    int32_t rc = OpenSocket(config_->endpoint, connect_deadline, &fd, &why);
    if (rc == LIMIFY_PLUGIN_OK) {
      rc = Handshake(fd, *config_, connect_deadline, &why);
      if (rc != LIMIFY_PLUGIN_OK) ::close(fd);
    }
    redisReader* reader = rc == LIMIFY_PLUGIN_OK ? redisReaderCreate() : nullptr;
    if (rc == LIMIFY_PLUGIN_OK && reader == nullptr) {
      ::close(fd);
      why = "out of memory";
      rc = LIMIFY_PLUGIN_INTERNAL;
    }
    lk.lock();
    connecting_ = false;
    ++connect_attempts_;
    state_cv_.notify_all();
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

void Connection::Flush(std::unique_lock<std::mutex>& lk, Deadline deadline) {
  writing_ = true;
  while (!outbuf_.empty() && !broken_) {
    writebuf_.swap(outbuf_);
    const int fd = fd_;
    lk.unlock();
    std::string why;
    const int32_t rc = WriteAll(fd, writebuf_.data(), writebuf_.size(), deadline, &why);
    writebuf_.clear();
    lk.lock();
    if (rc != LIMIFY_PLUGIN_OK && !broken_) Fail(rc, why);
  }
  writing_ = false;
  if (broken_) state_cv_.notify_all();
}

Deadline Connection::EarliestDeadline() const {
  Deadline earliest = Deadline::max();
  for (const Pending* q = head_; q != nullptr; q = q->next) {
    earliest = std::min(earliest, q->deadline);
  }
  return earliest;
}

void Connection::ReadUntilDone(std::unique_lock<std::mutex>& lk, Pending* self) {
  while (!self->done) {
    void* raw = nullptr;
    if (redisReaderGetReply(reader_, &raw) != REDIS_OK) {
      Fail(LIMIFY_PLUGIN_UNAVAILABLE, std::string("protocol error: ") + reader_->errstr);
      return;
    }
    if (raw != nullptr) {
      Deliver(static_cast<redisReply*>(raw), self);
      continue;
    }
    const Deadline deadline = EarliestDeadline();
    const int fd = fd_;
    lk.unlock();
    size_t got = 0;
    std::string why;
    const int32_t rc = ReadSome(fd, readbuf_, sizeof readbuf_, deadline, &got, &why);
    lk.lock();
    if (self->done) return;  // failed meanwhile by the writer
    if (rc != LIMIFY_PLUGIN_OK) {
      Fail(rc, why);
      return;
    }
    redisReaderFeed(reader_, readbuf_, got);
  }
}

void Connection::Deliver(redisReply* reply, Pending* self) {
  Pending* h = head_;
  if (h == nullptr) {
    freeReplyObject(reply);
    Fail(LIMIFY_PLUGIN_UNAVAILABLE, "a reply nobody asked for (protocol out of step)");
    return;
  }
  h->replies[h->got++].reset(reply);
  if (h->got < h->expected) return;
  head_ = h->next;
  if (head_ == nullptr) tail_ = nullptr;
  h->next = nullptr;
  h->done = true;
  if (h != self) h->cv.notify_one();
}

void Connection::ReleaseReader() {
  if (head_ != nullptr) {
    head_->lead = true;
    head_->cv.notify_one();
  } else {
    reading_ = false;
    state_cv_.notify_all();
  }
}

void Connection::Fail(int32_t code, const std::string& message) {
  broken_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes the role holders
  outbuf_.clear();
  last_error_ = config_->endpoint.ToString() + ": " + message;
  for (Pending* q = head_; q != nullptr;) {
    Pending* next = q->next;
    q->next = nullptr;
    q->code = code;
    *q->error = last_error_;
    q->done = true;
    q->cv.notify_one();
    q = next;
  }
  head_ = tail_ = nullptr;
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
