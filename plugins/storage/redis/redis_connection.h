// One connection to one Redis server, shared by every thread that uses it:
// auto-pipelining without a thread of its own.
//
// A caller appends its encoded command to the connection's output buffer and
// its request to a FIFO of requests awaiting replies. Two roles, each held by
// at most one caller at a time, do the socket I/O for everyone:
//  - the writer (whoever appends while nobody writes) sends the whole output
//    buffer in one write, again and again until it is empty, so commands
//    queued by other threads meanwhile go out together. Once the server has
//    kWriteAheadCommands unanswered, a caller leaves its command queued: the
//    reader writes everything queued each time it has read replies, before
//    it waits again, in one write instead of one per caller. (Holding back
//    after fewer, e.g. two writes in flight, starved the server whenever the
//    reader waited for a CPU: measured slower at 8 callers.)
//  - the reader (whoever waits while nobody reads) reads replies, hands each
//    to the request at the head of the FIFO (Redis answers in order) and
//    wakes its caller; once its own reply is in, it passes the role to the
//    newest request still waiting, which has the most replies ahead of it to
//    read for others: the role changes hands rarely.
// A waiting caller sleeps on a futex word of its own, set by the reader, so a
// woken caller returns without touching the connection's lock. The callers
// whose replies one read brought are woken in a chain: the reader wakes the
// first, each wakes the next on its way out. (Waking them all at once made
// a crowd of runnable threads on few cores, which preempted each other and
// the server: about 0.5 more context switches per check at 64 callers.) One caller
// alone writes and reads its own command with no thread switch; many callers
// share writes and reads, so throughput grows with concurrency instead of
// costing one round trip per thread.
//
// Deadlines. Every wait is bounded by the caller's deadline: connecting,
// writing, waiting and reading. A caller whose deadline passes before its
// reply returns TIMEOUT and abandons its request. If its command is still
// wholly unsent in the output buffer, it is taken out, never to be sent (the
// server must not act on a request reported as timed out); otherwise the
// request stays queued so that its reply, when it comes, is read and
// dropped: one caller's short deadline does not break the connection for the
// others. A writer whose deadline
// passes mid-write leaves the rest queued, first, for the next writer (the
// reader looks at the queue at least every receive timeout). The connection
// is failed as a whole only when the stream itself is broken (a write or read
// error, a protocol error) or stalled (the oldest request unanswered for
// twice the command timeout). Failing shuts the socket down, completes every
// queued request with the error (TIMEOUT or UNAVAILABLE) and reconnects on
// next use, once the I/O roles are released. Failed connects back off (1 ms
// doubling to 100 ms), answering UNAVAILABLE meanwhile, so a server that is
// down costs callers microseconds, not a connect timeout each; a connect cut
// short by its caller's deadline, before connect_timeout, is no failure.
//
// Exceptions. The roles (connecting, writing, reading) are given back on
// every way out, an exception included (a std::bad_alloc building an error
// text, say): a role left held would stall every later caller. An exception
// while writing or reading fails the connection, whose stream may then be
// out of step; failing itself never throws.
#ifndef LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_CONNECTION_H_
#define LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_CONNECTION_H_

#include <hiredis/hiredis.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/storage/redis/busy_poll.h"
#include "plugins/storage/redis/redis_options.h"
#include "plugins/storage/redis/resp.h"

namespace limify::redis {

using Clock = std::chrono::steady_clock;
using Deadline = Clock::time_point;

// How to open and set up a connection.
struct ConnectionConfig {
  Endpoint endpoint;
  std::string user;
  std::string password;
  int db = 0;
  std::chrono::milliseconds connect_timeout{50};
  // The oldest request unanswered for this long fails the connection.
  std::chrono::milliseconds stall_timeout{100};
  // How long a lone caller polls for its reply before it sleeps (busy_poll.h).
  std::chrono::microseconds busy_poll{kDefaultBusyPollUs};
};

class Connection {
 public:
  explicit Connection(const ConnectionConfig* config);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection();

  // Sends `commands` (`n` >= 1 encoded commands, e.g. ASKING + EVALSHA, or a
  // batch of checks) and waits for
  // their `n` replies (server error replies included), by `deadline`.
  // Returns LIMIFY_PLUGIN_OK, or LIMIFY_PLUGIN_TIMEOUT / _UNAVAILABLE with
  // `error` set. Thread-safe.
  int32_t Call(std::string_view commands, int n, Deadline deadline, ReplyPtr* replies,
               std::string* error);

  // Successful connects so far (tests: reconnection).
  uint64_t connects() const { return connects_.load(std::memory_order_relaxed); }
  // Waits that polled, answered or in vain (tests, redis_bench).
  const BusyPollPolicy& busy_poll() const { return busy_poll_; }

 private:
  struct Slot;
  struct Waiter;
  struct WakeChain;

  // See the writer above: enough for the server to work on while the
  // reader wakes up, few enough to keep writes batched.
  static constexpr size_t kWriteAheadCommands = 16;

  int32_t EnsureConnected(std::unique_lock<std::mutex>& lk, Deadline deadline,
                          std::string* error);
  // Writes everything queued; false if `deadline` passed first, the rest
  // staying queued (the connection is fine: only this caller ran out).
  // `self`, the writer's own request if it has one, may be answered
  // meanwhile: its wake is passed on at once, not after the last write.
  bool Flush(std::unique_lock<std::mutex>& lk, Deadline deadline, Waiter* self);
  bool ReadReplies(std::unique_lock<std::mutex>& lk, Waiter* self, Deadline deadline,
                   WakeChain* wake);
  void ReleaseReader();
  void Deliver(redisReply* reply, Waiter* self, WakeChain* wake);
  void Abandon(Slot* slot);
  void Fail(int32_t code, std::string_view message) noexcept;
  void CloseSocket();
  Slot* AcquireSlot();
  void ReleaseSlot(Slot* slot);

  const ConnectionConfig* config_;
  std::mutex mu_;
  std::condition_variable state_cv_;  // a connect ended, or the I/O roles were released
  // The socket and its reply parser: replaced only under mu_ while no caller
  // holds an I/O role; the role holders use them without the lock.
  int fd_ = -1;
  redisReader* reader_ = nullptr;
  bool broken_ = false;
  bool connecting_ = false;
  bool writing_ = false;
  bool reading_ = false;
  std::string outbuf_;    // commands not yet written
  std::string writebuf_;  // the writer's batch, swapped with outbuf_
  // Offsets in the stream of commands: where outbuf_ starts (all before it
  // handed to a write), and the end of what has been counted in in_flight_
  // (past out_start_ when a write cut short left its rest in outbuf_).
  uint64_t out_start_ = 0;
  uint64_t handed_end_ = 0;
  Slot* head_ = nullptr;  // requests awaiting replies, in write order
  Slot* tail_ = nullptr;
  Waiter* lead_ = nullptr;    // woken to take the reader role, not there yet
  size_t queued_ = 0;         // commands in outbuf_
  size_t in_flight_ = 0;      // commands handed to a write, not answered yet
  std::vector<std::unique_ptr<Slot>> slots_;  // every slot ever made
  std::vector<Slot*> free_slots_;  // reused: a call allocates nothing; room for every slot
  uint64_t connect_attempts_ = 0;
  int failures_ = 0;         // consecutive failed connects
  Deadline retry_at_{};      // no connect before this (backoff)
  std::string last_error_;
  std::atomic<uint64_t> connects_{0};
  BusyPollPolicy busy_poll_;  // the reader's
  char readbuf_[16384];      // the reader's
};

// A server and its pool of connections.
class Node {
 public:
  Node(ConnectionConfig config, int pool_size);
  Connection& Pick();
  const Endpoint& endpoint() const { return config_.endpoint; }
  uint64_t connects() const;

 private:
  const ConnectionConfig config_;
  std::vector<std::unique_ptr<Connection>> pool_;
  std::atomic<uint32_t> next_{0};
};

}  // namespace limify::redis

#endif  // LIMIFY_PLUGINS_STORAGE_REDIS_REDIS_CONNECTION_H_
