// The request options shared by check, peek, reset and bench:
// --method --path --user --org --api-key --ip --plan --cost.
#ifndef LIMIFY_CLI_REQUEST_OPTIONS_H_
#define LIMIFY_CLI_REQUEST_OPTIONS_H_

#include <cstdint>
#include <string>

#include "limify/limify.h"

namespace CLI {
class App;
}

namespace limify::cli {

struct RequestOptions {
  std::string method = "GET";
  std::string path;
  std::string user_id;
  std::string org_id;
  std::string api_key;
  std::string client_ip;
  std::string plan;
  int64_t cost = 1;

  // A limify_request borrowing these strings (absent ones are NULL), valid
  // while this object lives and is not modified.
  limify_request ToRequest() const;
};

struct RequestOptionFlags {
  bool path_required = true;
  bool with_identity = true;  // --user --org --api-key --ip
  bool with_cost = true;
};

// Adds the options to `command`, writing into `options`.
void AddRequestOptions(CLI::App* command, RequestOptions* options,
                       RequestOptionFlags flags = {});

}  // namespace limify::cli

#endif  // LIMIFY_CLI_REQUEST_OPTIONS_H_
