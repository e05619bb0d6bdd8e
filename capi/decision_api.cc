// Decisions: limify_check, _peek, _reset, _check_batch, _check_key,
// _check_key_batch and _reset_key. Each converts the caller's structs, asks the engine, writes
// the declared prefix of the decision, then tells the hooks.
//
// Errors found here (bad arguments) go to the on_error hook as well as to
// the caller; the engine reports its own through its error listener.
#include <string>
#include <string_view>
#include <vector>

#include "capi/api_guard.h"
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"
#include "capi/plan_provider.h"
#include "capi/status_mapping.h"
#include "capi/struct_conversion.h"

namespace limify::capi {
namespace {

// The caller's error, or a local one when the caller passed NULL: the hooks
// get the message either way.
class ErrorSlot {
 public:
  explicit ErrorSlot(limify_error* err) : err_(err != nullptr ? err : &local_) {}
  limify_error* get() { return err_; }

 private:
  limify_error local_;
  limify_error* err_;
};

// An argument error already in `err` (non-NULL): reported to on_error too.
limify_status Reported(limify_engine* engine, limify_error* err, limify_status status) {
  NotifyError(engine, *err);
  return status;
}

limify_status NullOf(limify_engine* engine, limify_error* err, std::string_view function,
                     std::string_view argument) {
  return Reported(engine, err, NullArgument(err, function, argument));
}

// limify_check and limify_peek (and each item of a batch): one request, one
// decision. `err` is non-NULL.
limify_status Decide(limify_engine* engine, const limify_request* request,
                     limify_decision* decision, limify_error* err, bool peek) {
  const std::string_view function = peek ? "limify_peek" : "limify_check";
  if (decision == nullptr) return NullOf(engine, err, function, "decision");
  if (limify_status s = CheckDecisionSize(decision, function, "decision", err); s != LIMIFY_OK) {
    return Reported(engine, err, s);
  }
  if (request == nullptr) {
    WriteDecision(DeniedDecision(), decision);
    return NullOf(engine, err, function, "request");
  }
  Request in;
  if (limify_status s = ReadRequest(request, function, "request", &in, err); s != LIMIFY_OK) {
    WriteDecision(DeniedDecision(), decision);
    return Reported(engine, err, s);
  }
  Decision out = DeniedDecision();
  absl::Status status;
  {
    ScopedHostRequest host(in, request);
    status = peek ? engine->engine->Peek(in, &out) : engine->engine->Check(in, &out);
  }
  if (!status.ok()) {
    out.allowed = false;  // a host that reads only `allowed` must not let it through
    WriteDecision(out, decision);
    return ReportStatus(err, status, StatusContext::kCall);
  }
  WriteDecision(out, decision);
  NotifyDecision(engine, peek ? LIMIFY_OPERATION_PEEK : LIMIFY_OPERATION_CHECK, request, out);
  return LIMIFY_OK;
}

// The checks shared by check_key and reset_key (engine is non-NULL).
limify_status CheckKeyArguments(limify_engine* engine, const char* rule_id, const char* identity,
                                std::string_view function, limify_error* err) {
  if (rule_id == nullptr) return NullOf(engine, err, function, "rule_id");
  if (identity == nullptr) return NullOf(engine, err, function, "identity");
  if (identity[0] == '\0') {
    return Reported(engine, err,
                    SetError(err, LIMIFY_INVALID_ARGUMENT,
                             {function, ": identity must not be empty"}));
  }
  return LIMIFY_OK;
}

// limify_check_key's arguments (and each item of a key batch), checked
// before the engine is asked. `err` is non-NULL.
limify_status ReadKeyItem(limify_engine* engine, const char* rule_id, const char* identity,
                          int64_t cost, limify_decision* decision, limify_error* err) {
  constexpr std::string_view kFunction = "limify_check_key";
  if (limify_status s = CheckKeyArguments(engine, rule_id, identity, kFunction, err);
      s != LIMIFY_OK) {
    return s;
  }
  if (decision == nullptr) return NullOf(engine, err, kFunction, "decision");
  if (limify_status s = CheckDecisionSize(decision, kFunction, "decision", err); s != LIMIFY_OK) {
    return Reported(engine, err, s);
  }
  if (cost < 0) {
    WriteDecision(DeniedDecision(), decision);
    const std::string got = std::to_string(cost);
    return Reported(engine, err,
                    SetError(err, LIMIFY_INVALID_ARGUMENT,
                             {kFunction, ": cost must not be negative (got ", got, ")"}));
  }
  return LIMIFY_OK;
}

limify_status CheckKey(limify_engine* engine, const char* rule_id, const char* identity,
                       int64_t cost, limify_decision* decision, limify_error* err) {
  if (limify_status s = ReadKeyItem(engine, rule_id, identity, cost, decision, err);
      s != LIMIFY_OK) {
    return s;
  }
  Decision out = DeniedDecision();
  absl::Status status = engine->engine->CheckKey(rule_id, identity, cost == 0 ? 1 : cost, &out);
  if (!status.ok()) {
    out.allowed = false;
    WriteDecision(out, decision);
    return ReportStatus(err, status, StatusContext::kCall);
  }
  WriteDecision(out, decision);
  NotifyDecision(engine, LIMIFY_OPERATION_CHECK_KEY, nullptr, out);
  return LIMIFY_OK;
}

// The end of a batch: the engine's answers out[k] (for item index[k]) are
// written and told to the hooks; statuses[i] get every item's code, `err`
// the first failure's message, prefixed with its item. `requests` (the
// hooks' view of each item) may be NULL.
limify_status FinishBatch(limify_engine* engine, std::string_view function,
                          int32_t operation, const limify_request* const* requests,
                          const std::vector<size_t>& index, std::vector<Decision>& out,
                          const std::vector<absl::Status>& status,
                          limify_decision* const* decisions, limify_status* statuses,
                          std::vector<limify_status>& codes, std::vector<limify_error>& errors,
                          limify_error* err) {
  for (size_t k = 0; k < index.size(); ++k) {
    const size_t i = index[k];
    if (!status[k].ok()) {
      out[k].allowed = false;  // a host that reads only `allowed` must not let it through
      WriteDecision(out[k], decisions[i]);
      codes[i] = ReportStatus(&errors[i], status[k], StatusContext::kCall);
      continue;
    }
    WriteDecision(out[k], decisions[i]);
    NotifyDecision(engine, operation, requests == nullptr ? nullptr : requests[i], out[k]);
  }
  limify_status first = LIMIFY_OK;
  for (size_t i = 0; i < codes.size(); ++i) {
    if (statuses != nullptr) statuses[i] = codes[i];
    if (codes[i] != LIMIFY_OK && first == LIMIFY_OK) {
      first = codes[i];
      const std::string item = std::to_string(i);
      SetError(err, first, {function, ": item ", item, ": ", errors[i].message});
    }
  }
  return first;
}

// One item of a batch, read and checked as limify_check would; `err` is
// non-NULL. LIMIFY_OK when it can be decided.
limify_status ReadBatchItem(limify_engine* engine, const limify_request* request,
                            limify_decision* decision, Request* in, limify_error* err) {
  constexpr std::string_view kFunction = "limify_check";
  if (decision == nullptr) return NullOf(engine, err, kFunction, "decision");
  if (limify_status s = CheckDecisionSize(decision, kFunction, "decision", err); s != LIMIFY_OK) {
    return Reported(engine, err, s);
  }
  if (request == nullptr) {
    WriteDecision(DeniedDecision(), decision);
    return NullOf(engine, err, kFunction, "request");
  }
  if (limify_status s = ReadRequest(request, kFunction, "request", in, err); s != LIMIFY_OK) {
    WriteDecision(DeniedDecision(), decision);
    return Reported(engine, err, s);
  }
  return LIMIFY_OK;
}

// The items that can be decided go to Engine::CheckBatch together (one
// storage round trip); each item's answer and hooks are limify_check's.
limify_status CheckBatch(limify_engine* engine, const limify_request* const* requests, size_t n,
                         limify_decision* const* decisions, limify_status* statuses,
                         limify_error* err) {
  constexpr std::string_view kFunction = "limify_check_batch";
  if (n == 0) return LIMIFY_OK;
  if (requests == nullptr) return NullOf(engine, err, kFunction, "requests");
  if (decisions == nullptr) return NullOf(engine, err, kFunction, "decisions");
  std::vector<limify_status> codes(n, LIMIFY_OK);
  std::vector<limify_error> errors(n);
  std::vector<Request> batch;  // the decidable items, in order
  std::vector<const limify_request*> hosts;
  std::vector<size_t> index;
  batch.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    Request in;
    codes[i] = ReadBatchItem(engine, requests[i], decisions[i], &in, &errors[i]);
    if (codes[i] != LIMIFY_OK) continue;
    batch.push_back(in);
    hosts.push_back(requests[i]);
    index.push_back(i);
  }
  std::vector<Decision> out(batch.size(), DeniedDecision());
  std::vector<absl::Status> status(batch.size());
  {
    ScopedHostRequest host(batch.data(), hosts.data(), batch.size());
    engine->engine->CheckBatch(batch.data(), batch.size(), out.data(), status.data());
  }
  return FinishBatch(engine, kFunction, LIMIFY_OPERATION_CHECK, requests, index, out, status,
                     decisions, statuses, codes, errors, err);
}

limify_status CheckKeyBatch(limify_engine* engine, const char* rule_id,
                            const char* const* identities, size_t n, const int64_t* costs,
                            limify_decision* const* decisions, limify_status* statuses,
                            limify_error* err) {
  constexpr std::string_view kFunction = "limify_check_key_batch";
  if (n == 0) return LIMIFY_OK;
  if (rule_id == nullptr) return NullOf(engine, err, kFunction, "rule_id");
  if (identities == nullptr) return NullOf(engine, err, kFunction, "identities");
  if (decisions == nullptr) return NullOf(engine, err, kFunction, "decisions");
  std::vector<limify_status> codes(n, LIMIFY_OK);
  std::vector<limify_error> errors(n);
  std::vector<std::string_view> batch;  // the decidable items, in order
  std::vector<int64_t> batch_costs;
  std::vector<size_t> index;
  batch.reserve(n);
  batch_costs.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t cost = costs == nullptr ? 1 : costs[i];
    codes[i] = ReadKeyItem(engine, rule_id, identities[i], cost, decisions[i], &errors[i]);
    if (codes[i] != LIMIFY_OK) {
      limify_error scratch;  // a decision that can be written says "denied"
      if (decisions[i] != nullptr &&
          CheckDecisionSize(decisions[i], kFunction, "decision", &scratch) == LIMIFY_OK) {
        WriteDecision(DeniedDecision(), decisions[i]);
      }
      continue;
    }
    batch.push_back(identities[i]);
    batch_costs.push_back(cost == 0 ? 1 : cost);
    index.push_back(i);
  }
  std::vector<Decision> out(batch.size(), DeniedDecision());
  std::vector<absl::Status> status(batch.size());
  engine->engine->CheckKeyBatch(rule_id, batch.data(), batch_costs.data(), batch.size(),
                                out.data(), status.data());
  return FinishBatch(engine, kFunction, LIMIFY_OPERATION_CHECK_KEY, nullptr, index, out, status,
                     decisions, statuses, codes, errors, err);
}

}  // namespace
}  // namespace limify::capi

using limify::capi::ErrorSlot;
using limify::capi::Guard;
using limify::capi::NullArgument;

extern "C" {

LIMIFY_EXPORT limify_status limify_check(limify_engine* engine, const limify_request* request,
                                         limify_decision* decision, limify_error* err) {
  if (engine == nullptr) return NullArgument(err, "limify_check", "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), "limify_check", [&] {
    return limify::capi::Decide(engine, request, decision, slot.get(), /*peek=*/false);
  });
}

LIMIFY_EXPORT limify_status limify_peek(limify_engine* engine, const limify_request* request,
                                        limify_decision* decision, limify_error* err) {
  if (engine == nullptr) return NullArgument(err, "limify_peek", "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), "limify_peek", [&] {
    return limify::capi::Decide(engine, request, decision, slot.get(), /*peek=*/true);
  });
}

LIMIFY_EXPORT limify_status limify_reset(limify_engine* engine, const limify_request* request,
                                         limify_error* err) {
  constexpr std::string_view kFunction = "limify_reset";
  if (engine == nullptr) return NullArgument(err, kFunction, "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), kFunction, [&]() -> limify_status {
    if (request == nullptr) return limify::capi::NullOf(engine, slot.get(), kFunction, "request");
    limify::Request in;
    if (limify_status s = limify::capi::ReadRequest(request, kFunction, "request", &in, slot.get());
        s != LIMIFY_OK) {
      return limify::capi::Reported(engine, slot.get(), s);
    }
    return limify::capi::ReportStatus(slot.get(), engine->engine->Reset(in),
                                      limify::capi::StatusContext::kCall);
  });
}

LIMIFY_EXPORT limify_status limify_check_batch(limify_engine* engine,
                                               const limify_request* const* requests, size_t n,
                                               limify_decision* const* decisions,
                                               limify_status* statuses, limify_error* err) {
  if (engine == nullptr) return NullArgument(err, "limify_check_batch", "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), "limify_check_batch", [&] {
    return limify::capi::CheckBatch(engine, requests, n, decisions, statuses, slot.get());
  });
}

LIMIFY_EXPORT limify_status limify_check_key_batch(limify_engine* engine, const char* rule_id,
                                                   const char* const* identities, size_t n,
                                                   const int64_t* costs,
                                                   limify_decision* const* decisions,
                                                   limify_status* statuses, limify_error* err) {
  if (engine == nullptr) return NullArgument(err, "limify_check_key_batch", "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), "limify_check_key_batch", [&] {
    return limify::capi::CheckKeyBatch(engine, rule_id, identities, n, costs, decisions, statuses,
                                       slot.get());
  });
}

LIMIFY_EXPORT limify_status limify_check_key(limify_engine* engine, const char* rule_id,
                                             const char* identity, int64_t cost,
                                             limify_decision* decision, limify_error* err) {
  if (engine == nullptr) return NullArgument(err, "limify_check_key", "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), "limify_check_key", [&] {
    return limify::capi::CheckKey(engine, rule_id, identity, cost, decision, slot.get());
  });
}

LIMIFY_EXPORT limify_status limify_reset_key(limify_engine* engine, const char* rule_id,
                                             const char* identity, limify_error* err) {
  constexpr std::string_view kFunction = "limify_reset_key";
  if (engine == nullptr) return NullArgument(err, kFunction, "engine");
  ErrorSlot slot(err);
  return Guard(slot.get(), kFunction, [&]() -> limify_status {
    if (limify_status s =
            limify::capi::CheckKeyArguments(engine, rule_id, identity, kFunction, slot.get());
        s != LIMIFY_OK) {
      return s;
    }
    return limify::capi::ReportStatus(slot.get(), engine->engine->ResetKey(rule_id, identity),
                                      limify::capi::StatusContext::kCall);
  });
}

}  // extern "C"
