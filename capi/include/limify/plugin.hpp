// Header-only helpers for plugin authors writing in C++.
//
// The plugin ABI (plugin.h) is C: no exception may cross it. Wrap the body of
// every exported function in limify::plugin::Guard, which turns anything
// thrown into an error code plus a message copied by the host:
//
//   static int32_t Step(..., limify_plugin_error* err) {
//     return limify::plugin::Guard(err, [&] { ...; return LIMIFY_PLUGIN_OK; });
//   }
//
// and export the manifest with LIMIFY_DEFINE_PLUGIN_ENTRY(manifest), which
// also remembers the host's API for SetError.
#ifndef LIMIFY_PLUGIN_HPP_
#define LIMIFY_PLUGIN_HPP_

#include <atomic>
#include <cstddef>
#include <cstring>
#include <exception>
#include <new>
#include <string>

#include "limify/plugin.h"

namespace limify::plugin {

// The host API handed to the entry function; null until the plugin is loaded.
// Hidden, so that two plugins built without -fvisibility=hidden never share it
// (a default-visibility inline static would become one process-wide symbol).
// Atomic: a second engine loading the plugin calls the entry again while the
// first one's checks may be reporting errors.
__attribute__((visibility("hidden"))) inline std::atomic<const limify_host_api*>& HostSlot() {
  static std::atomic<const limify_host_api*> host{nullptr};
  return host;
}
inline const limify_host_api* Host() { return HostSlot().load(std::memory_order_acquire); }

// Reports an error through the host, which copies the text.
inline int32_t SetError(limify_plugin_error* err, int32_t code, const char* message) noexcept {
  const limify_host_api* host = Host();
  if (host != nullptr && host->set_error != nullptr) host->set_error(err, code, message);
  return code;
}
inline int32_t SetError(limify_plugin_error* err, int32_t code, const std::string& message) {
  return SetError(err, code, message.c_str());
}

// Runs `body` (returning int32_t) and converts any exception into an error.
template <typename Body>
int32_t Guard(limify_plugin_error* err, Body&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return SetError(err, LIMIFY_PLUGIN_INTERNAL, "out of memory");
  } catch (const std::exception& e) {
    return SetError(err, LIMIFY_PLUGIN_INTERNAL, e.what());
  } catch (...) {
    return SetError(err, LIMIFY_PLUGIN_INTERNAL, "unknown exception");
  }
}

// What is wrong with the op and verdict handed to a storage's execute, or
// nullptr: the checks every storage makes before touching a key. Allocates
// nothing (it runs on every step).
inline const char* CheckStorageOp(const limify_storage_op* op, const limify_verdict* out) noexcept {
  constexpr size_t kOpSizeNeeded = offsetof(limify_storage_op, apply_ctx) + sizeof(void*);
  if (op == nullptr) return "execute: op is NULL";
  if (op->struct_size < kOpSizeNeeded) return "execute: op struct is too small";
  if (out == nullptr) return "execute: out is NULL";
  if (op->n_keys == 0) return "execute: op has no keys";
  if (op->keys == nullptr || op->state_sizes == nullptr) {
    return "execute: op keys or state_sizes is NULL";
  }
  if (op->apply == nullptr) return "execute: op apply is NULL";
  if (op->cost < 1) return "execute: cost must be at least 1";
  for (size_t i = 0; i < op->n_keys; ++i) {
    const limify_key& a = op->keys[i];
    if (a.data == nullptr || a.size == 0) return "execute: a key is empty";
    if (op->state_sizes[i] == 0) return "execute: a state size is 0";
    // The keys must be distinct (one per limit); a repeat would alias states.
    for (size_t j = 0; j < i; ++j) {
      const limify_key& b = op->keys[j];
      if (a.size == b.size && std::memcmp(a.data, b.data, a.size) == 0) {
        return "execute: op repeats a key (each limit needs its own key)";
      }
    }
  }
  return nullptr;
}

// What is wrong with the arrays handed to a storage's execute_batch, or
// nullptr (each op is then checked with CheckStorageOp).
inline const char* CheckStorageBatch(const limify_storage_op* const* ops, size_t n_ops,
                                     limify_verdict* const* outs, const int32_t* codes,
                                     limify_plugin_error* const* errs) noexcept {
  if (n_ops == 0) return nullptr;
  if (ops == nullptr || outs == nullptr || codes == nullptr || errs == nullptr) {
    return "execute_batch: ops, outs, codes or errs is NULL";
  }
  return nullptr;
}

}  // namespace limify::plugin

// Defines the exported entry function returning `manifest` (an lvalue of type
// limify_plugin_manifest with static storage duration).
#define LIMIFY_DEFINE_PLUGIN_ENTRY(manifest)                          \
  extern "C" LIMIFY_PLUGIN_EXPORT const limify_plugin_manifest*       \
  limify_plugin_entry(const limify_host_api* host) {                  \
    ::limify::plugin::HostSlot().store(host, std::memory_order_release); \
    return &(manifest);                                               \
  }

#endif  // LIMIFY_PLUGIN_HPP_
