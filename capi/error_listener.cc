// InstallErrorListener (see hook_dispatch.h): the engine reports the
// storage errors its failure policy hides, and the errors its calls return,
// to one listener; the C layer forwards them to the current on_error hook.
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"

namespace limify::capi {

absl::Status InstallErrorListener(limify_engine* engine) {
  // TODO(capi): Engine::SetErrorListener lands with the metrics work; until
  // then only errors the C layer finds reach on_error.
  (void)engine;
  return absl::OkStatus();
}

}  // namespace limify::capi
