// `limify check` and `limify peek`: decide a request (and consume, for check)
// --repeat times, printing one decision per line.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>

#include "cli/commands.h"
#include "cli/decision_format.h"
#include "cli/durations.h"
#include "cli/engine_handle.h"
#include "cli/exit_codes.h"
#include "cli/report.h"
#include "cli/request_options.h"

namespace limify::cli {
namespace {

struct DecideOptions {
  std::string config;
  RequestOptions request;
  int64_t repeat = 1;
  std::string interval = "0";
  bool json = false;
  bool headers = false;
};

// Lets `interval_us` pass between two requests: the manual clock is advanced
// (instantly); any other clock is waited for.
int Wait(limify_engine* engine, int64_t interval_us) {
  if (interval_us <= 0) return kExitOk;
  limify_error err{};
  const limify_status status = limify_clock_advance(engine, interval_us, &err);
  if (status == LIMIFY_OK) return kExitOk;
  if (status != LIMIFY_FAILED_PRECONDITION) return FailWith(status, err, "--interval");
  std::this_thread::sleep_for(std::chrono::microseconds(interval_us));
  return kExitOk;
}

int RunDecide(const DecideOptions& o, bool consume) {
  int64_t interval_us = 0;
  if (!ParseDuration(o.interval, &interval_us)) {
    return Fail(kExitUsage, "--interval: \"" + o.interval +
                                "\" is not a duration (e.g. 250ms, 1.5s, 2m)");
  }
  EngineHandle engine;
  if (int code = OpenEngine(o.config, &engine); code != kExitOk) return code;

  const limify_request request = o.request.ToRequest();
  const uint32_t header_flags = LIMIFY_HEADERS_DEFAULT | LIMIFY_HEADERS_IETF;
  bool any_denied = false;
  for (int64_t i = 0; i < o.repeat; ++i) {
    if (i > 0) {
      if (int code = Wait(engine.get(), interval_us); code != kExitOk) return code;
    }
    limify_decision decision;
    limify_decision_init(&decision);
    limify_error err{};
    const limify_status status = consume
                                     ? limify_check(engine.get(), &request, &decision, &err)
                                     : limify_peek(engine.get(), &request, &decision, &err);
    if (status != LIMIFY_OK) return FailWith(status, err, consume ? "check" : "peek");
    any_denied |= decision.allowed == 0;
    const std::string headers = o.headers ? FormatHeaders(decision, header_flags) : "";
    if (o.json) {
      std::printf("%s\n", FormatDecisionJson(decision, headers).c_str());
    } else {
      std::printf("%s\n%s", FormatDecisionText(decision).c_str(), IndentHeaders(headers).c_str());
    }
    std::fflush(stdout);  // lines appear as they are decided, even with --interval
  }
  return any_denied ? kExitDenied : kExitOk;
}

void AddDecideCommand(CLI::App& app, int* exit_code, const char* name, bool consume) {
  auto o = std::make_shared<DecideOptions>();
  CLI::App* command = app.add_subcommand(
      name, consume ? "Decide a request and consume from its limits; one line per decision "
                      "(exit 6 if any was denied)"
                    : "Decide a request without consuming anything; one line per decision "
                      "(exit 6 if any would be denied)");
  command->add_option("config", o->config, "configuration file (JSON), or - for stdin")
      ->required();
  AddRequestOptions(command, &o->request);
  command->add_option("-n,--repeat", o->repeat, "send the request N times")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000'000}))
      ->capture_default_str();
  command->add_option("--interval", o->interval,
                      "time between repeated requests, e.g. 250ms (a manual clock is "
                      "advanced instead of waited for)")
      ->capture_default_str();
  command->add_flag("--json", o->json, "one JSON object per decision");
  command->add_flag("--headers", o->headers,
                    "also print the HTTP response headers (X-RateLimit-*, Retry-After, "
                    "RateLimit, RateLimit-Policy)");
  command->callback([o, exit_code, consume] { *exit_code = RunDecide(*o, consume); });
}

}  // namespace

void AddDecideCommands(CLI::App& app, int* exit_code) {
  AddDecideCommand(app, exit_code, "check", true);
  AddDecideCommand(app, exit_code, "peek", false);
}

}  // namespace limify::cli
