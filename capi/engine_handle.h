// struct limify_engine: what the opaque handle of limify.h holds — the
// engine and the hooks the C layer owns.
#ifndef LIMIFY_CAPI_ENGINE_HANDLE_H_
#define LIMIFY_CAPI_ENGINE_HANDLE_H_

#include <memory>

#include "engine/engine.h"
#include "engine/read_mostly.h"
#include "limify/limify.h"

// The hooks in force; every field zero when none are installed.
struct limify_installed_hooks {
  limify_hooks hooks{};
};

struct limify_engine {
  // Held in a ReadMostly so that limify_set_hooks can promise that, once it
  // returns, no call to the previous hooks is running or will start.
  // Declared before `engine` so it outlives it: the engine's error listener
  // reads it until the engine is gone.
  limify::ReadMostly<limify_installed_hooks> hooks{std::make_unique<const limify_installed_hooks>()};
  std::unique_ptr<limify::Engine> engine;
};

#endif  // LIMIFY_CAPI_ENGINE_HANDLE_H_
