// InstallErrorListener (see hook_dispatch.h): the engine reports the
// storage errors its failure policy hides, and the errors its calls return,
// to one listener; the C layer forwards them to the current on_error hook.
#include "capi/engine_handle.h"
#include "capi/hook_dispatch.h"

namespace limify::capi {

absl::Status InstallErrorListener(limify_engine* engine) {
  // `engine` outlives the listener: the handle's hooks are destroyed after
  // the engine (engine_handle.h).
  return engine->engine->SetErrorListener(
      [engine](const absl::Status& error) { NotifyStatus(engine, error); });
}

}  // namespace limify::capi
