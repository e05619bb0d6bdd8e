// The request options, and the limify_request they describe.
#include "cli/request_options.h"

#include <CLI/CLI.hpp>

namespace limify::cli {
namespace {

const char* OrNull(const std::string& s) { return s.empty() ? nullptr : s.c_str(); }

}  // namespace

limify_request RequestOptions::ToRequest() const {
  limify_request request;
  limify_request_init(&request);
  request.method = OrNull(method);
  request.path = OrNull(path);
  request.user_id = OrNull(user_id);
  request.org_id = OrNull(org_id);
  request.api_key = OrNull(api_key);
  request.client_ip = OrNull(client_ip);
  request.plan = OrNull(plan);
  request.cost = cost;
  return request;
}

void AddRequestOptions(CLI::App* command, RequestOptions* options, RequestOptionFlags flags) {
  command->add_option("-m,--method", options->method, "HTTP method of the request")
      ->capture_default_str()
      ->group("Request");
  CLI::Option* path =
      command->add_option("-p,--path", options->path, "request path, e.g. /api/items/42")
          ->group("Request");
  if (flags.path_required) {
    path->required();
  } else {
    options->path = "/";
    path->capture_default_str();
  }
  if (flags.with_identity) {
    command->add_option("-u,--user", options->user_id, "user id")->group("Request");
    command->add_option("--org", options->org_id, "organisation id")->group("Request");
    command->add_option("--api-key", options->api_key, "API key")->group("Request");
    command->add_option("--ip", options->client_ip, "client IP address")->group("Request");
  }
  command->add_option("--plan", options->plan, "explicit plan (wins over every other source)")
      ->group("Request");
  if (flags.with_cost) {
    command->add_option("--cost", options->cost, "units the request consumes")
        ->check(CLI::Range(int64_t{1}, INT64_MAX))
        ->capture_default_str()
        ->group("Request");
  }
}

}  // namespace limify::cli
