#include "plugins/storage/redis/redis_storage.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <map>
#include <random>
#include <thread>
#include <tuple>

#include "limify/plugin.hpp"
#include "plugins/storage/redis/busy_poll.h"
#include "plugins/storage/redis/cluster_slots.h"

namespace limify::redis {
namespace {

static_assert(std::endian::native == std::endian::little,
              "the Lua scripts read states as little-endian (struct '<i8')");

constexpr int kMaxRedirects = 5;
constexpr int kMaxCasAttempts = 64;
constexpr auto kRefreshInterval = std::chrono::milliseconds(100);
constexpr auto kTryAgainPause = std::chrono::milliseconds(2);
constexpr size_t kKnownStateSizes = 5;
// Checks per call of a script's batch form: enough to spread the call's own
// cost thin, few enough that one call holds the server only ~0.2 ms.
constexpr size_t kChecksPerScript = 64;
// Calls the combiner keeps on their way at once: enough to keep the server
// busy while a reply travels back, few enough that checks gather meanwhile.
// Up to 8 callers never queue: at 8 callers the server is not yet the limit,
// and queueing would only add wake-ups (A/B, 4 rounds: 29-41k checks/s at 8
// in flight against 12-27k/s at 4; at 64 callers 62-81k/s against 21-61k/s).
constexpr int kCombinedCallsInFlight = 8;

// The state size the native script of `algorithm` reads, for a limit of `L`
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

// Errors a server answers with when it cannot serve now (as opposed to a
// bug: a script error, a wrong type).
bool IsServerUnavailable(std::string_view text) {
  static constexpr std::string_view kTransient[] = {
      "LOADING", "BUSY", "CLUSTERDOWN", "MASTERDOWN", "READONLY", "OOM",
      "NOAUTH",  "NOPERM", "TRYAGAIN", "NOREPLICAS", "MISCONF"};
  for (std::string_view prefix : kTransient) {
    if (text.starts_with(prefix)) return true;
  }
  return false;
}

std::string Shorten(std::string_view text) {
  constexpr size_t kMax = 300;
  if (text.size() <= kMax) return std::string(text);
  return std::string(text.substr(0, kMax)) + "...";
}

// When a state written at `now_us` may be dropped, in Unix milliseconds
// rounded up (Redis PXAT), or 0 when it is fresh already: as the scripts do.
int64_t ExpireAtMs(int64_t now_us, int64_t ttl_us) {
  if (ttl_us <= 0) return 0;
  const int64_t at = now_us + ttl_us;
  return at / 1000 + (at % 1000 > 0 ? 1 : 0);
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

// The host's verdict as a full struct (fields past its struct_size zero).
limify_verdict ReadVerdict(const limify_verdict& out) {
  limify_verdict v{};
  const size_t n = out.struct_size < sizeof v ? out.struct_size : sizeof v;
  std::memcpy(&v, &out, n);
  v.struct_size = sizeof v;
  return v;
}

// A thread's encode buffers, reused so that a check allocates nothing once
// they have grown.
struct Buffers {
  std::string args;
  std::string command;
  std::string ask;
};
Buffers& ThreadBuffers() {
  thread_local Buffers buffers;
  return buffers;
}

uint64_t Jitter(uint64_t bound) {
  thread_local std::minstd_rand rng(static_cast<unsigned>(
      std::hash<std::thread::id>{}(std::this_thread::get_id()) ^
      static_cast<size_t>(Clock::now().time_since_epoch().count())));
  return bound == 0 ? 0 : rng() % bound;
}

}  // namespace

bool FitsLua(const limify_storage_op& op) {
  constexpr __int128 kBound = __int128{1} << 52;
  if (op.cost < 1) return false;
  for (size_t i = 0; i < op.n_keys; ++i) {
    const limify_limit_spec& s = op.specs[i];
    const __int128 L = s.limit, B = s.burst == 0 ? s.limit : s.burst, P = s.period_us;
    if (L <= 0 || B <= 0 || P <= 0) return false;
    if ((2 * std::max(L, B) + op.cost) * P >= kBound) return false;
  }
  return true;
}

// The keys and pre-encoded arguments of one script call, encoded as EVALSHA
// (or EVAL, to load the script after NOSCRIPT).
class RedisStorage::ScriptCall {
 public:
  ScriptCall(std::string_view prefix, const limify_key* keys, size_t n_keys,
             const std::string* args, size_t n_args)
      : prefix_(prefix), keys_(keys), n_keys_(n_keys), args_(args), n_args_(n_args) {}

  void Encode(const Script& script, bool eval, std::string* out) const {
    out->clear();
    CommandBuilder b(out);
    b.Begin(3 + n_keys_ + n_args_);
    b.Arg(eval ? "EVAL" : "EVALSHA");
    b.Arg(eval ? script.text : std::string_view(script.sha1));
    b.Int(static_cast<int64_t>(n_keys_));
    for (size_t i = 0; i < n_keys_; ++i) b.Arg2(prefix_, {keys_[i].data, keys_[i].size});
    out->append(*args_);
  }

 private:
  std::string_view prefix_;
  const limify_key* keys_;
  size_t n_keys_;
  const std::string* args_;
  size_t n_args_;
};

RedisStorage::RedisStorage(const RedisOptions& options, SetErrorFn set_error)
    : options_(options),
      set_error_(set_error),
      base_config_{options.endpoint, options.user, options.password, options.db,
                   std::chrono::milliseconds(options.connect_timeout_ms),
                   std::chrono::milliseconds(2 * options.command_timeout_ms),
                   UsableBusyPoll(options.busy_poll_us, std::thread::hardware_concurrency())},
      slots_(new std::atomic<Node*>[kSlotCount]),
      generic_stripes_(new Turn[kGenericStripes]) {
  for (int i = 0; i < kSlotCount; ++i) slots_[i].store(nullptr, std::memory_order_relaxed);
  nodes_.push_back(std::make_unique<Node>(base_config_, options_.pool_size));
  seed_ = nodes_.front().get();
  if (options_.cluster == ClusterMode::kOff) mode_.store(kStandalone);
  if (options_.over_limit_cache_keys > 0) {
    over_limit_cache_ = std::make_unique<OverLimitCache>(options_.over_limit_cache_keys);
  }
  if (options_.combine) {
    combiner_ = std::make_unique<CheckCombiner>(
        kCombinedCallsInFlight, kChecksPerScript,
        [this](CheckCombiner::Entry* const* entries, size_t n, Deadline deadline) {
          SendCombined(entries, n, deadline);
        });
  }
}

RedisStorage::~RedisStorage() = default;

int32_t RedisStorage::Fail(limify_plugin_error* err, int32_t code,
                           const std::string& message) const {
  if (set_error_ != nullptr) set_error_(err, code, message.c_str());
  return code;
}

Deadline RedisStorage::NewDeadline() const {
  return Clock::now() + std::chrono::milliseconds(options_.command_timeout_ms);
}

uint64_t RedisStorage::Connects() const {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  uint64_t total = 0;
  for (const auto& node : nodes_) total += node->connects();
  return total;
}

int32_t RedisStorage::WarmUp(std::string* error) {
  const Deadline deadline =
      Clock::now() + std::chrono::milliseconds(options_.connect_timeout_ms);
  std::string why;
  int32_t rc = Detect(deadline, &why);
  if (rc == LIMIFY_PLUGIN_INVALID_ARGUMENT) {
    *error = why;
    return rc;
  }
  return LIMIFY_PLUGIN_OK;  // unreachable now: connect on first use
}

int32_t RedisStorage::Detect(Deadline deadline, std::string* error) {
  if (mode_.load(std::memory_order_acquire) != kUnknown) return LIMIFY_PLUGIN_OK;
  std::lock_guard<std::mutex> lock(refresh_mu_);
  if (mode_.load(std::memory_order_acquire) != kUnknown) return LIMIFY_PLUGIN_OK;
  if (!options_.endpoint.unix_path.empty() && options_.cluster == ClusterMode::kAuto) {
    mode_.store(kStandalone, std::memory_order_release);
    return LIMIFY_PLUGIN_OK;
  }
  static constexpr std::string_view kClusterSlots = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
  ReplyPtr replies[1];
  int32_t rc = seed_->Pick().Call(kClusterSlots, 1, deadline, replies, error);
  if (rc != LIMIFY_PLUGIN_OK) return rc;
  const redisReply* reply = replies[0].get();
  if (IsError(reply)) {
    if (options_.cluster == ClusterMode::kOn) {
      *error = "cluster: true, but " + seed_->endpoint().ToString() +
               " is not a cluster node (CLUSTER SLOTS: " + std::string(ReplyText(reply)) + ")";
      return LIMIFY_PLUGIN_INVALID_ARGUMENT;
    }
    mode_.store(kStandalone, std::memory_order_release);
    return LIMIFY_PLUGIN_OK;
  }
  if (options_.db != 0) {
    *error = "url: " + seed_->endpoint().ToString() +
             " is a Redis Cluster node, which has only database 0";
    return LIMIFY_PLUGIN_INVALID_ARGUMENT;
  }
  if (!ApplySlots(reply, *seed_)) {
    *error = "CLUSTER SLOTS: unexpected reply from " + seed_->endpoint().ToString();
    return LIMIFY_PLUGIN_UNAVAILABLE;
  }
  last_refresh_ = Clock::now();
  mode_.store(kCluster, std::memory_order_release);
  return LIMIFY_PLUGIN_OK;
}

bool RedisStorage::ApplySlots(const redisReply* reply, const Node& asked) {
  if (reply == nullptr || reply->type != REDIS_REPLY_ARRAY) return false;
  std::vector<Node*> map(kSlotCount, nullptr);
  for (size_t i = 0; i < reply->elements; ++i) {
    const redisReply* range = reply->element[i];
    if (range->type != REDIS_REPLY_ARRAY || range->elements < 3) return false;
    const redisReply* master = range->element[2];
    if (range->element[0]->type != REDIS_REPLY_INTEGER ||
        range->element[1]->type != REDIS_REPLY_INTEGER || master->type != REDIS_REPLY_ARRAY ||
        master->elements < 2 || master->element[1]->type != REDIS_REPLY_INTEGER) {
      return false;
    }
    const long long first = range->element[0]->integer, last = range->element[1]->integer;
    if (first < 0 || last >= kSlotCount || first > last) return false;
    // An empty or "?" address means "the node you asked".
    std::string host(ReplyText(master->element[0]));
    if (host.empty() || host == "?") host = asked.endpoint().host;
    Node* node = FindOrAddNode(host, static_cast<int>(master->element[1]->integer));
    for (long long s = first; s <= last; ++s) map[static_cast<size_t>(s)] = node;
  }
  for (int s = 0; s < kSlotCount; ++s) slots_[s].store(map[s], std::memory_order_release);
  counters_.refreshes.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int32_t RedisStorage::RefreshSlots(Deadline deadline, bool force, std::string* error) {
  std::unique_lock<std::mutex> lock(refresh_mu_, std::try_to_lock);
  if (!lock.owns_lock()) {
    if (!force) return LIMIFY_PLUGIN_OK;  // someone is refreshing: use the map as it is
    lock.lock();
  }
  if (!force && Clock::now() - last_refresh_ < kRefreshInterval) return LIMIFY_PLUGIN_OK;
  refresh_wanted_.store(false, std::memory_order_relaxed);
  std::vector<Node*> candidates;
  {
    std::lock_guard<std::mutex> nodes_lock(nodes_mu_);
    for (const auto& n : nodes_) candidates.push_back(n.get());
  }
  static constexpr std::string_view kClusterSlots = "*2\r\n$7\r\nCLUSTER\r\n$5\r\nSLOTS\r\n";
  int32_t rc = LIMIFY_PLUGIN_UNAVAILABLE;
  *error = "no cluster node answered CLUSTER SLOTS";
  for (Node* node : candidates) {
    ReplyPtr replies[1];
    std::string why;
    rc = node->Pick().Call(kClusterSlots, 1, deadline, replies, &why);
    if (rc == LIMIFY_PLUGIN_OK && ApplySlots(replies[0].get(), *node)) {
      last_refresh_ = Clock::now();
      return LIMIFY_PLUGIN_OK;
    }
    if (rc == LIMIFY_PLUGIN_OK) rc = LIMIFY_PLUGIN_UNAVAILABLE;
    *error = "refreshing the slot map: " + why;
    if (Clock::now() >= deadline) break;
  }
  last_refresh_ = Clock::now();
  refresh_wanted_.store(true, std::memory_order_relaxed);
  return rc;
}

Node* RedisStorage::FindOrAddNode(const std::string& host, int port) {
  std::lock_guard<std::mutex> lock(nodes_mu_);
  for (const auto& n : nodes_) {
    if (n->endpoint().unix_path.empty() && n->endpoint().host == host &&
        n->endpoint().port == port) {
      return n.get();
    }
  }
  ConnectionConfig config = base_config_;
  config.endpoint = Endpoint{host, port, ""};
  nodes_.push_back(std::make_unique<Node>(std::move(config), options_.pool_size));
  return nodes_.back().get();
}

Node* RedisStorage::NodeFor(int slot, Deadline deadline, int32_t* code, std::string* error) {
  int mode = mode_.load(std::memory_order_acquire);
  if (mode == kUnknown) {
    *code = Detect(deadline, error);
    if (*code != LIMIFY_PLUGIN_OK) return nullptr;
    mode = mode_.load(std::memory_order_acquire);
  }
  if (mode == kStandalone || slot < 0) return seed_;
  if (refresh_wanted_.load(std::memory_order_relaxed)) {
    std::string ignored;
    RefreshSlots(deadline, /*force=*/false, &ignored);
  }
  Node* node = slots_[slot].load(std::memory_order_acquire);
  if (node == nullptr) {
    *code = RefreshSlots(deadline, /*force=*/true, error);
    node = slots_[slot].load(std::memory_order_acquire);
    if (node == nullptr) {
      if (*code == LIMIFY_PLUGIN_OK) {
        *code = LIMIFY_PLUGIN_UNAVAILABLE;
        *error = "no cluster node serves slot " + std::to_string(slot);
      }
      return nullptr;
    }
  }
  return node;
}

int32_t RedisStorage::Route(int slot, std::string_view command, Deadline deadline,
                            ReplyPtr* reply, std::string* error) {
  Node* ask = nullptr;
  // MOVED and ASK count against kMaxRedirects; TRYAGAIN (a slot half
  // migrated) is retried until the deadline.
  for (int hop = 0;;) {
    if (hop > kMaxRedirects) {
      *error = "slot " + std::to_string(slot) + ": more than " + std::to_string(kMaxRedirects) +
               " redirections";
      return LIMIFY_PLUGIN_UNAVAILABLE;
    }
    int32_t rc = LIMIFY_PLUGIN_OK;
    Node* node = ask;
    if (node == nullptr) {
      node = NodeFor(slot, deadline, &rc, error);
      if (node == nullptr) return rc;
    }
    ReplyPtr replies[2];
    if (ask != nullptr) {
      std::string& buf = ThreadBuffers().ask;
      buf.assign("*1\r\n$6\r\nASKING\r\n");
      buf.append(command);
      rc = node->Pick().Call(buf, 2, deadline, replies, error);
    } else {
      rc = node->Pick().Call(command, 1, deadline, replies, error);
    }
    if (rc != LIMIFY_PLUGIN_OK) {
      if (IsCluster()) refresh_wanted_.store(true, std::memory_order_relaxed);
      return rc;
    }
    ReplyPtr& r = replies[ask != nullptr ? 1 : 0];
    if (IsError(r.get())) {
      const std::string_view text = ReplyText(r.get());
      Redirect redirect;
      if (ParseRedirect(text, &redirect)) {
        if (!IsCluster()) {
          *error = "the server redirects (" + std::string(text) +
                   ") but the storage is not in cluster mode: set \"cluster\": true or \"auto\"";
          return LIMIFY_PLUGIN_INVALID_ARGUMENT;
        }
        Node* target = FindOrAddNode(
            redirect.host.empty() ? node->endpoint().host : redirect.host, redirect.port);
        ++hop;
        if (redirect.ask) {
          counters_.asks.fetch_add(1, std::memory_order_relaxed);
          ask = target;
        } else {
          counters_.moved.fetch_add(1, std::memory_order_relaxed);
          slots_[redirect.slot].store(target, std::memory_order_release);
          refresh_wanted_.store(true, std::memory_order_relaxed);
          ask = nullptr;
        }
        continue;
      }
      if (text.starts_with("TRYAGAIN")) {
        // A multi-key command during a slot migration: the keys are split.
        counters_.tryagains.fetch_add(1, std::memory_order_relaxed);
        if (Clock::now() + kTryAgainPause >= deadline) {
          *error = "slot " + std::to_string(slot) + " is migrating (TRYAGAIN) past the deadline";
          return LIMIFY_PLUGIN_TIMEOUT;
        }
        std::this_thread::sleep_for(kTryAgainPause);
        ask = nullptr;
        continue;
      }
      if (text.starts_with("READONLY") || text.starts_with("CLUSTERDOWN")) {
        refresh_wanted_.store(true, std::memory_order_relaxed);
      }
    }
    *reply = std::move(r);
    return LIMIFY_PLUGIN_OK;
  }
}

int32_t RedisStorage::RunScript(const Script& script, int slot, const ScriptCall& call,
                                Deadline deadline, ReplyPtr* reply, std::string* error) {
  std::string& command = ThreadBuffers().command;
  call.Encode(script, /*eval=*/false, &command);
  int32_t rc = Route(slot, command, deadline, reply, error);
  if (rc != LIMIFY_PLUGIN_OK) return rc;
  if (IsError(reply->get()) && ReplyText(reply->get()).starts_with("NOSCRIPT")) {
    // Not in this server's script cache (SCRIPT FLUSH, a restart, a new
    // node): EVAL runs it and caches it for the next EVALSHA.
    counters_.script_loads.fetch_add(1, std::memory_order_relaxed);
    call.Encode(script, /*eval=*/true, &command);
    rc = Route(slot, command, deadline, reply, error);
    if (rc != LIMIFY_PLUGIN_OK) return rc;
  }
  if (IsError(reply->get())) {
    const std::string_view text = ReplyText(reply->get());
    *error = "script " + std::string(script.name) + ": " + Shorten(text);
    return IsServerUnavailable(text) ? LIMIFY_PLUGIN_UNAVAILABLE : LIMIFY_PLUGIN_INTERNAL;
  }
  return LIMIFY_PLUGIN_OK;
}

int32_t RedisStorage::Execute(const limify_storage_op& op, limify_verdict* out,
                              limify_plugin_error* err, const Hooks* hooks) {
  return ExecuteBy(op, NewDeadline(), out, err, hooks);
}

// The over-limit cache is skipped for tests' own clock (hooks->has_now).
OverLimitCache* RedisStorage::CacheFor(const Hooks* hooks) const {
  return hooks != nullptr && hooks->has_now ? nullptr : over_limit_cache_.get();
}

bool RedisStorage::AnswerFromCache(OverLimitCache* cache, const limify_storage_op& op,
                                   OverLimitCache::Clock::time_point now, limify_verdict* out) {
  limify_verdict v{};
  if (cache == nullptr || !cache->Answer(op, now, &v)) return false;
  WriteVerdict(v, out);
  counters_.cache_hits.fetch_add(1, std::memory_order_relaxed);
  return true;
}

int32_t RedisStorage::ExecuteBy(const limify_storage_op& op, Deadline deadline,
                                limify_verdict* out, limify_plugin_error* err,
                                const Hooks* hooks) {
  OverLimitCache* cache = CacheFor(hooks);
  if (cache == nullptr) return ExecuteUncached(op, deadline, out, err, hooks);
  const auto sent = OverLimitCache::Clock::now();
  if (AnswerFromCache(cache, op, sent, out)) return LIMIFY_PLUGIN_OK;
  const uint64_t epoch = cache->epoch();
  const int32_t rc = ExecuteUncached(op, deadline, out, err, hooks);
  if (rc == LIMIFY_PLUGIN_OK) cache->Remember(op, sent, epoch, ReadVerdict(*out));
  return rc;
}

int32_t RedisStorage::ExecuteUncached(const limify_storage_op& op, Deadline deadline,
                                      limify_verdict* out, limify_plugin_error* err,
                                      const Hooks* hooks) {
  // All keys of a check must share a slot (they share a hash tag).
  const int slot = KeySlot({op.keys[0].data, op.keys[0].size});
  for (size_t i = 1; i < op.n_keys; ++i) {
    if (KeySlot({op.keys[i].data, op.keys[i].size}) != slot) {
      return Fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                  "execute: the keys of one step must share a hash tag (one cluster slot)");
    }
  }
  if (const Script* script = NativeScriptFor(op, hooks)) {
    bool fall_back = false;
    const int32_t rc = Native(*script, op, slot, hooks, deadline, out, err, &fall_back);
    if (!fall_back) return rc;
    counters_.lua_fallbacks.fetch_add(1, std::memory_order_relaxed);
  }
  return Generic(op, slot, hooks, deadline, out, err);
}

// The native script that decides `op`, or null for the generic path: none
// for the algorithm, disabled, limits beyond Lua's exact integers, or a
// plugin of the same name with another state layout.
const Script* RedisStorage::NativeScriptFor(const limify_storage_op& op,
                                            const Hooks* hooks) const {
  if (!options_.native || (hooks != nullptr && hooks->force_generic) ||
      op.algorithm == nullptr || op.specs == nullptr || !FitsLua(op)) {
    return nullptr;
  }
  const Script* script = FindNativeScript(op.algorithm);
  if (script == nullptr) return nullptr;
  for (size_t i = 0; i < op.n_keys; ++i) {
    if (op.state_sizes[i] != NativeStateSize(op.algorithm, op.specs[i].limit)) return nullptr;
  }
  return script;
}

void RedisStorage::NativeArgs(const limify_storage_op& op, const Hooks* hooks,
                              std::string* args) const {
  args->clear();
  CommandBuilder b(args);
  AppendNow(hooks, &b);
  AppendCheckArgs(op, &b);
}

void RedisStorage::AppendNow(const Hooks* hooks, CommandBuilder* b) {
  if (hooks != nullptr && hooks->has_now) {
    b->Int(hooks->now_us);
  } else {
    b->Arg("");  // production: the script reads Redis TIME
  }
}

// cost peek L_1 P_1 B_1 .. L_n P_n B_n
void RedisStorage::AppendCheckArgs(const limify_storage_op& op, CommandBuilder* b) {
  b->Int(op.cost);
  b->Arg(op.mode == LIMIFY_MODE_PEEK ? "1" : "0");
  for (size_t i = 0; i < op.n_keys; ++i) {
    b->Int(op.specs[i].limit);
    b->Int(op.specs[i].period_us);
    b->Int(op.specs[i].burst);
  }
}

// A native script's answer: OK with `out` filled, OK with *fall_back set
// (the script declined: inexact), or an error.
int32_t RedisStorage::ReadNativeReply(const Script& script, const redisReply* r,
                                      limify_verdict* out, std::string* error,
                                      bool* fall_back) {
  if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
      r->element[0]->type == REDIS_REPLY_INTEGER && r->element[0]->integer == -1) {
    *fall_back = true;
    return LIMIFY_PLUGIN_OK;
  }
  bool well_formed = r->type == REDIS_REPLY_ARRAY && r->elements >= 6;
  for (size_t i = 0; well_formed && i < 6; ++i) {
    well_formed = r->element[i]->type == REDIS_REPLY_INTEGER;
  }
  if (!well_formed) {
    *error = "script " + std::string(script.name) + ": unexpected reply";
    return LIMIFY_PLUGIN_INTERNAL;
  }
  limify_verdict v{};
  v.struct_size = sizeof v;
  v.allowed = r->element[0]->integer != 0 ? 1 : 0;
  v.limit = r->element[1]->integer;
  v.remaining = r->element[2]->integer;
  v.reset_after_us = r->element[3]->integer;
  v.retry_after_us = r->element[4]->integer;
  v.binding_limit = static_cast<uint32_t>(r->element[5]->integer);
  WriteVerdict(v, out);
  counters_.native.fetch_add(1, std::memory_order_relaxed);
  return LIMIFY_PLUGIN_OK;
}

int32_t RedisStorage::Native(const Script& script, const limify_storage_op& op, int slot,
                             const Hooks* hooks, Deadline deadline, limify_verdict* out,
                             limify_plugin_error* err, bool* fall_back) {
  // Combined only in production (tests' hooks are per check) and standalone
  // (a cluster's checks rarely share a slot, which a call needs).
  if (combiner_ == nullptr || hooks != nullptr || IsCluster()) {
    return NativeAlone(script, op, slot, hooks, deadline, out, err, fall_back);
  }
  CombinedCheck check{&op, &script, out, err, LIMIFY_PLUGIN_INTERNAL};
  CheckCombiner::Entry entry;
  entry.check = &check;
  entry.deadline = deadline;
  switch (combiner_->Enter(&entry)) {
    case CheckCombiner::Turn::kDecided:
      return check.code;
    case CheckCombiner::Turn::kTimedOut:
      return Fail(err, LIMIFY_PLUGIN_TIMEOUT,
                  options_.endpoint.ToString() + ": the deadline passed before the check's turn");
    case CheckCombiner::Turn::kUndecided:
      break;  // NOSCRIPT, the generic path...: alone, below
    case CheckCombiner::Turn::kAlone: {
      struct Leave {
        CheckCombiner& combiner;
        ~Leave() { combiner.Leave(); }
      } leave{*combiner_};
      return NativeAlone(script, op, slot, hooks, deadline, out, err, fall_back);
    }
  }
  return NativeAlone(script, op, slot, hooks, deadline, out, err, fall_back);
}

int32_t RedisStorage::NativeAlone(const Script& script, const limify_storage_op& op, int slot,
                                  const Hooks* hooks, Deadline deadline, limify_verdict* out,
                                  limify_plugin_error* err, bool* fall_back) {
  std::string& args = ThreadBuffers().args;
  NativeArgs(op, hooks, &args);
  const ScriptCall call(options_.key_prefix, op.keys, op.n_keys, &args, 3 + 3 * op.n_keys);
  ReplyPtr reply;
  std::string error;
  int32_t rc = RunScript(script, slot, call, deadline, &reply, &error);
  if (rc == LIMIFY_PLUGIN_OK) rc = ReadNativeReply(script, reply.get(), out, &error, fall_back);
  return rc == LIMIFY_PLUGIN_OK ? rc : Fail(err, rc, error);
}

// The combiner's send: its checks as one pipeline of batch-form calls.
void RedisStorage::SendCombined(CheckCombiner::Entry* const* entries, size_t n,
                                Deadline deadline) noexcept {
  try {
    std::vector<const limify_storage_op*> ops(n);
    std::vector<const Script*> scripts(n);
    std::vector<limify_verdict*> outs(n);
    std::vector<limify_plugin_error*> errs(n);
    std::vector<int32_t> codes(n, LIMIFY_PLUGIN_INTERNAL);
    std::vector<size_t> which(n);
    std::vector<bool> done(n, false);
    for (size_t i = 0; i < n; ++i) {
      const auto* check = static_cast<const CombinedCheck*>(entries[i]->check);
      ops[i] = check->op;
      scripts[i] = check->script;
      outs[i] = check->out;
      errs[i] = check->err;
      which[i] = i;
    }
    SendNative(ops.data(), which, scripts.data(), nullptr, deadline, outs.data(), codes.data(),
               errs.data(), &done);
    for (size_t i = 0; i < n; ++i) {
      static_cast<CombinedCheck*>(entries[i]->check)->code = codes[i];
      entries[i]->decided = done[i];
    }
  } catch (...) {
    // Out of memory: some may have been decided, so none is sent again.
    for (size_t i = 0; i < n; ++i) {
      auto* check = static_cast<CombinedCheck*>(entries[i]->check);
      if (set_error_ != nullptr) {
        set_error_(check->err, LIMIFY_PLUGIN_INTERNAL, "out of memory combining checks");
      }
      check->code = LIMIFY_PLUGIN_INTERNAL;
      entries[i]->decided = true;
    }
  }
}

void RedisStorage::ExecuteBatch(const limify_storage_op* const* ops, size_t n,
                                limify_verdict* const* outs, int32_t* codes,
                                limify_plugin_error* const* errs, const Hooks* hooks) {
  const Deadline deadline = NewDeadline();
  OverLimitCache* cache = CacheFor(hooks);
  const auto sent = OverLimitCache::Clock::now();
  const uint64_t epoch = cache != nullptr ? cache->epoch() : 0;
  std::vector<bool> done(n, false);
  std::vector<const Script*> scripts(n, nullptr);
  std::vector<size_t> native;
  for (size_t i = 0; i < n; ++i) {
    if (const char* problem = plugin::CheckStorageOp(ops[i], outs[i])) {
      codes[i] = Fail(errs[i], LIMIFY_PLUGIN_INVALID_ARGUMENT, problem);
      done[i] = true;
    } else if (AnswerFromCache(cache, *ops[i], sent, outs[i])) {
      codes[i] = LIMIFY_PLUGIN_OK;
      done[i] = true;
    } else if (ops[i]->n_keys > 0 && (scripts[i] = NativeScriptFor(*ops[i], hooks)) != nullptr) {
      native.push_back(i);
    }
  }
  SendNative(ops, native, scripts.data(), hooks, deadline, outs, codes, errs, &done);
  for (size_t i = 0; i < n; ++i) {
    if (done[i] && codes[i] == LIMIFY_PLUGIN_OK && cache != nullptr && scripts[i] != nullptr) {
      cache->Remember(*ops[i], sent, epoch, ReadVerdict(*outs[i]));
    }
    // Within the batch's deadline: a batch takes no longer than one check.
    if (!done[i]) codes[i] = ExecuteBy(*ops[i], deadline, outs[i], errs[i], hooks);
  }
}

void RedisStorage::SendNative(const limify_storage_op* const* ops, const std::vector<size_t>& which,
                              const Script* const* scripts, const Hooks* hooks, Deadline deadline,
                              limify_verdict* const* outs, int32_t* codes,
                              limify_plugin_error* const* errs, std::vector<bool>* done) {
  // The native ops as script calls, grouped by the server that owns their
  // slot: ops of one script (and, on a cluster, one slot) share a call of
  // the script's batch form, up to kChecksPerScript each.
  struct Call {
    const Script* script;
    std::vector<size_t> ops;
  };
  struct Group {
    Node* node;
    std::vector<Call> calls;
    std::string commands;
  };
  std::vector<Group> groups;
  // (group, script, slot or -1) -> the call still taking ops.
  std::map<std::tuple<size_t, const Script*, int>, size_t> open_calls;
  for (size_t i : which) {
    const limify_storage_op& op = *ops[i];
    const Script* script = scripts[i];
    const int slot = KeySlot({op.keys[0].data, op.keys[0].size});
    bool one_slot = true;
    for (size_t k = 1; k < op.n_keys; ++k) {
      one_slot = one_slot && KeySlot({op.keys[k].data, op.keys[k].size}) == slot;
    }
    int32_t code = LIMIFY_PLUGIN_OK;
    std::string error;
    Node* node = one_slot ? NodeFor(slot, deadline, &code, &error) : nullptr;
    if (node == nullptr && (code == LIMIFY_PLUGIN_UNAVAILABLE || code == LIMIFY_PLUGIN_TIMEOUT)) {
      codes[i] = Fail(errs[i], code, error);  // no server for it within the deadline
      (*done)[i] = true;
      continue;
    }
    if (node == nullptr) continue;  // sent alone, which reports why
    const auto group = static_cast<size_t>(
        std::find_if(groups.begin(), groups.end(), [&](const Group& g) { return g.node == node; }) -
        groups.begin());
    if (group == groups.size()) groups.push_back(Group{node, {}, {}});
    std::vector<Call>& calls = groups[group].calls;
    auto [open, added] = open_calls.try_emplace({group, script, IsCluster() ? slot : -1},
                                                calls.size());
    if (added || calls[open->second].ops.size() == kChecksPerScript) {
      open->second = calls.size();
      calls.push_back(Call{script, {}});
    }
    calls[open->second].ops.push_back(i);
  }

  // Settles op i from its reply (one check's, alone or within a batch's).
  const auto settle = [&](size_t i, const Script& script, const redisReply* r) {
    if (IsError(r)) {
      const std::string_view text = ReplyText(r);
      Redirect redirect;
      // Not run: NOSCRIPT, a redirection, a slot in migration. Sent
      // again alone, which deals with it.
      if (text.starts_with("NOSCRIPT") || text.starts_with("TRYAGAIN") ||
          ParseRedirect(text, &redirect)) {
        return;
      }
      codes[i] = Fail(errs[i], IsServerUnavailable(text) ? LIMIFY_PLUGIN_UNAVAILABLE
                                                         : LIMIFY_PLUGIN_INTERNAL,
                      "script " + std::string(script.name) + ": " + Shorten(text));
      (*done)[i] = true;
      return;
    }
    bool fall_back = false;
    std::string error;
    const int32_t code = ReadNativeReply(script, r, outs[i], &error, &fall_back);
    if (fall_back) return;  // sent again alone: the generic path
    codes[i] = code == LIMIFY_PLUGIN_OK ? code : Fail(errs[i], code, error);
    (*done)[i] = true;
  };

  std::string args, command;
  for (Group& g : groups) {
    for (const Call& call : g.calls) {
      if (call.ops.size() == 1) {
        const limify_storage_op& op = *ops[call.ops[0]];
        NativeArgs(op, hooks, &args);
        ScriptCall(options_.key_prefix, op.keys, op.n_keys, &args, 3 + 3 * op.n_keys)
            .Encode(*call.script, /*eval=*/false, &command);
        g.commands += command;
      } else {
        EncodeBatchCall(*call.script, ops, call.ops, hooks, &g.commands);
      }
    }
    std::vector<ReplyPtr> replies(g.calls.size());
    std::string error;
    const int32_t rc = g.node->Pick().Call(g.commands, static_cast<int>(g.calls.size()), deadline,
                                           replies.data(), &error);
    for (size_t c = 0; c < g.calls.size(); ++c) {
      const Call& call = g.calls[c];
      const redisReply* r = replies[c].get();
      if (rc == LIMIFY_PLUGIN_OK && call.ops.size() == 1) {
        settle(call.ops[0], *call.script, r);
        continue;
      }
      if (rc == LIMIFY_PLUGIN_OK && r->type == REDIS_REPLY_ARRAY &&
          r->elements == call.ops.size()) {
        counters_.native_batches.fetch_add(1, std::memory_order_relaxed);
        for (size_t k = 0; k < call.ops.size(); ++k) {
          settle(call.ops[k], *call.script, r->element[k]);
        }
        continue;
      }
      if (rc == LIMIFY_PLUGIN_OK && IsError(r)) {
        Redirect redirect;
        const std::string_view text = ReplyText(r);
        // Not run (nothing was written): each is sent again alone.
        if (text.starts_with("NOSCRIPT") || text.starts_with("TRYAGAIN") ||
            ParseRedirect(text, &redirect)) {
          continue;
        }
      }
      // The connection failed, or the script failed as a whole, perhaps
      // after some of its checks wrote their states: none is sent again.
      if (rc != LIMIFY_PLUGIN_OK && IsCluster()) {
        refresh_wanted_.store(true, std::memory_order_relaxed);
      }
      const int32_t code = rc != LIMIFY_PLUGIN_OK ? rc
                           : IsError(r) && IsServerUnavailable(ReplyText(r))
                               ? LIMIFY_PLUGIN_UNAVAILABLE
                               : LIMIFY_PLUGIN_INTERNAL;
      const std::string why = rc != LIMIFY_PLUGIN_OK ? error
                              : IsError(r)
                                  ? "script " + std::string(call.script->name) + ": " +
                                        Shorten(ReplyText(r))
                                  : "script " + std::string(call.script->name) +
                                        ": unexpected reply to a batch";
      for (size_t i : call.ops) {
        codes[i] = Fail(errs[i], code, why);
        (*done)[i] = true;
      }
    }
  }
}

// One call of a native script's batch form (lua/prelude.lua), deciding the
// ops `which` in order: EVALSHA <sha> <keys> key.. * now m  n cost peek L P B.. ..
void RedisStorage::EncodeBatchCall(const Script& script, const limify_storage_op* const* ops,
                                   const std::vector<size_t>& which, const Hooks* hooks,
                                   std::string* out) const {
  size_t n_keys = 0, n_args = 3;
  for (size_t i : which) {
    n_keys += ops[i]->n_keys;
    n_args += 3 + 3 * ops[i]->n_keys;
  }
  CommandBuilder b(out);
  b.Begin(3 + n_keys + n_args);
  b.Arg("EVALSHA");
  b.Arg(script.sha1);
  b.Int(static_cast<int64_t>(n_keys));
  for (size_t i : which) {
    for (size_t k = 0; k < ops[i]->n_keys; ++k) {
      b.Arg2(options_.key_prefix, {ops[i]->keys[k].data, ops[i]->keys[k].size});
    }
  }
  b.Arg("*");
  AppendNow(hooks, &b);
  b.Int(static_cast<int64_t>(which.size()));
  for (size_t i : which) {
    const limify_storage_op& op = *ops[i];
    b.Int(static_cast<int64_t>(op.n_keys));
    AppendCheckArgs(op, &b);
  }
}

int32_t RedisStorage::Generic(const limify_storage_op& op, int slot, const Hooks* hooks,
                              Deadline deadline, limify_verdict* out,
                              limify_plugin_error* err) {
  const size_t n = op.n_keys;
  Turn& turn = generic_stripes_[std::hash<std::string_view>{}({op.keys[0].data, op.keys[0].size}) %
                                kGenericStripes];
  {
    std::unique_lock<std::mutex> lock(turn.mu);
    if (!turn.cv.wait_until(lock, deadline, [&] { return !turn.taken; })) {
      return Fail(err, LIMIFY_PLUGIN_TIMEOUT,
                  "generic path: other checks of this key took the whole command timeout");
    }
    turn.taken = true;
  }
  struct Release {
    Turn& turn;
    ~Release() {
      std::lock_guard<std::mutex> lock(turn.mu);
      turn.taken = false;
      turn.cv.notify_one();
    }
  } release{turn};
  size_t total = 0;
  for (size_t i = 0; i < n; ++i) total += op.state_sizes[i];
  std::vector<unsigned char> states(total);
  std::vector<void*> state_ptrs(n);
  std::vector<int64_t> ttl_us(n);
  std::string read_args;
  {
    CommandBuilder b(&read_args);
    if (hooks != nullptr && hooks->has_now) {
      b.Int(hooks->now_us);
    } else {
      b.Arg("");
    }
  }
  const ScriptCall read(options_.key_prefix, op.keys, n, &read_args, 1);
  std::string cas_args;
  std::string error;
  for (int attempt = 0;; ++attempt) {
    ReplyPtr reply;
    int32_t rc = RunScript(ReadStatesScript(), slot, read, deadline, &reply, &error);
    if (rc != LIMIFY_PLUGIN_OK) return Fail(err, rc, error);
    const redisReply* r = reply.get();
    if (r->type != REDIS_REPLY_ARRAY || r->elements != n + 1 ||
        r->element[0]->type != REDIS_REPLY_INTEGER) {
      return Fail(err, LIMIFY_PLUGIN_INTERNAL, "script @read_states: unexpected reply");
    }
    const int64_t now_us = r->element[0]->integer;
    // A missing key, or one of another size, is a fresh (zero) state.
    std::fill(states.begin(), states.end(), 0);
    unsigned char* at = states.data();
    for (size_t i = 0; i < n; ++i) {
      state_ptrs[i] = at;
      const redisReply* value = r->element[i + 1];
      if (value->type == REDIS_REPLY_STRING && value->len == op.state_sizes[i]) {
        std::memcpy(at, value->str, value->len);
      }
      at += op.state_sizes[i];
    }
    int write_back = 0;
    rc = op.apply(op.apply_ctx, state_ptrs.data(), now_us, &write_back, ttl_us.data(), out, err);
    if (rc != LIMIFY_PLUGIN_OK) return rc;  // the apply reported it
    if (write_back == 0) {
      counters_.generic.fetch_add(1, std::memory_order_relaxed);
      return LIMIFY_PLUGIN_OK;
    }
    cas_args.clear();
    CommandBuilder b(&cas_args);
    for (size_t i = 0; i < n; ++i) {
      const redisReply* value = r->element[i + 1];
      b.Arg(value->type == REDIS_REPLY_STRING ? ReplyText(value) : std::string_view());
      b.Arg({static_cast<const char*>(state_ptrs[i]), op.state_sizes[i]});
      b.Int(ExpireAtMs(now_us, ttl_us[i]));
    }
    const ScriptCall cas(options_.key_prefix, op.keys, n, &cas_args, 3 * n);
    ReplyPtr written;
    rc = RunScript(CompareAndSetScript(), slot, cas, deadline, &written, &error);
    if (rc != LIMIFY_PLUGIN_OK) return Fail(err, rc, error);
    if (written->type == REDIS_REPLY_INTEGER && written->integer == 1) {
      counters_.generic.fetch_add(1, std::memory_order_relaxed);
      return LIMIFY_PLUGIN_OK;
    }
    counters_.cas_conflicts.fetch_add(1, std::memory_order_relaxed);
    if (attempt + 1 >= kMaxCasAttempts) {
      return Fail(err, LIMIFY_PLUGIN_UNAVAILABLE,
                  "generic path: the state kept changing (" + std::to_string(kMaxCasAttempts) +
                      " compare-and-set conflicts in a row)");
    }
    // Jittered exponential backoff: 0..50 us, doubling, capped at 0..5 ms.
    const auto pause = std::chrono::microseconds(
        Jitter(std::min<uint64_t>(5000, uint64_t{50} << std::min(attempt, 16)) + 1));
    if (Clock::now() + pause >= deadline) {
      return Fail(err, LIMIFY_PLUGIN_TIMEOUT,
                  "generic path: compare-and-set conflicts until the deadline");
    }
    std::this_thread::sleep_for(pause);
  }
}

int32_t RedisStorage::Remove(const limify_key* keys, size_t n_keys, limify_plugin_error* err) {
  // Forgotten before the DEL and again after it: a step answered in between
  // may have read the state the DEL removes (see OverLimitCache's epoch).
  struct ForgetAround {
    OverLimitCache* cache;
    const limify_key* keys;
    size_t n_keys;
    ForgetAround(OverLimitCache* c, const limify_key* k, size_t n) : cache(c), keys(k), n_keys(n) {
      if (cache != nullptr) cache->Forget(keys, n_keys);
    }
    ~ForgetAround() {
      if (cache != nullptr) cache->Forget(keys, n_keys);
    }
  } forget(over_limit_cache_.get(), keys, n_keys);
  const Deadline deadline = NewDeadline();
  const int slot = KeySlot({keys[0].data, keys[0].size});
  for (size_t i = 1; i < n_keys; ++i) {
    if (KeySlot({keys[i].data, keys[i].size}) != slot) {
      return Fail(err, LIMIFY_PLUGIN_INVALID_ARGUMENT,
                  "remove: the keys must share a hash tag (one cluster slot)");
    }
  }
  std::string& command = ThreadBuffers().command;
  command.clear();
  CommandBuilder b(&command);
  b.Begin(1 + n_keys);
  b.Arg("DEL");
  for (size_t i = 0; i < n_keys; ++i) b.Arg2(options_.key_prefix, {keys[i].data, keys[i].size});
  ReplyPtr reply;
  std::string error;
  const int32_t rc = Route(slot, command, deadline, &reply, &error);
  if (rc != LIMIFY_PLUGIN_OK) return Fail(err, rc, error);
  if (IsError(reply.get())) {
    const std::string_view text = ReplyText(reply.get());
    return Fail(err, IsServerUnavailable(text) ? LIMIFY_PLUGIN_UNAVAILABLE : LIMIFY_PLUGIN_INTERNAL,
                "DEL: " + Shorten(text));
  }
  return LIMIFY_PLUGIN_OK;
}

namespace {

// Redis glob syntax: `text` matched literally.
std::string GlobEscaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out;
}

}  // namespace

int32_t RedisStorage::KeyCount(int64_t* out_count, limify_plugin_error* err) {
  const auto budget_end = Clock::now() + std::chrono::milliseconds(kKeyCountBudgetMs);
  // Detects the server kind (and the slot map) if nothing has yet.
  int32_t code = LIMIFY_PLUGIN_OK;
  std::string error;
  if (NodeFor(0, NewDeadline(), &code, &error) == nullptr) return Fail(err, code, error);
  std::vector<Node*> masters;
  if (IsCluster()) {
    for (int slot = 0; slot < kSlotCount; ++slot) {
      Node* node = slots_[slot].load(std::memory_order_acquire);
      if (node != nullptr && std::find(masters.begin(), masters.end(), node) == masters.end()) {
        masters.push_back(node);
      }
    }
  } else {
    masters.push_back(seed_);
  }
  // This storage's keys only: the engine's keys all start "limify:{".
  const std::string pattern = GlobEscaped(options_.key_prefix) + "limify:{*";
  int64_t total = 0;
  for (Node* node : masters) {
    std::string cursor = "0";
    do {
      if (Clock::now() >= budget_end) {
        return Fail(err, LIMIFY_PLUGIN_TIMEOUT,
                    "key_count: SCAN did not finish within " + std::to_string(kKeyCountBudgetMs) +
                        " ms (too many keys to count in a scrape)");
      }
      std::string command;
      CommandBuilder b(&command);
      b.Begin(6);
      b.Arg("SCAN");
      b.Arg(cursor);
      b.Arg("MATCH");
      b.Arg(pattern);
      b.Arg("COUNT");
      b.Arg("1000");
      ReplyPtr reply;
      const int32_t rc = node->Pick().Call(command, 1, NewDeadline(), &reply, &error);
      if (rc != LIMIFY_PLUGIN_OK) return Fail(err, rc, "key_count: " + error);
      const redisReply* r = reply.get();
      if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
          r->element[0]->type != REDIS_REPLY_STRING || r->element[1]->type != REDIS_REPLY_ARRAY) {
        return Fail(err, LIMIFY_PLUGIN_INTERNAL,
                    "key_count: unexpected SCAN reply" +
                        (IsError(r) ? ": " + Shorten(ReplyText(r)) : std::string()));
      }
      cursor.assign(r->element[0]->str, r->element[0]->len);
      total += static_cast<int64_t>(r->element[1]->elements);
    } while (cursor != "0");
  }
  *out_count = total;
  return LIMIFY_PLUGIN_OK;
}

int32_t RedisStorage::Command(std::string_view route_key, const std::vector<std::string>& argv,
                              ReplyPtr* reply, std::string* error) {
  std::string command;
  CommandBuilder b(&command);
  b.Begin(argv.size());
  for (const std::string& a : argv) b.Arg(a);
  const int slot = route_key.empty() ? -1 : KeySlot(route_key);
  return Route(slot, command, NewDeadline(), reply, error);
}

}  // namespace limify::redis
