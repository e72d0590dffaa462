// Process-wide counts of live C handles (tensors, devices, graphs, optimizers), kept by a member
// of each handle struct; read by grl_live_handle_counts for leak checks in tests and bindings.
#pragma once
#include <atomic>
#include <cstdint>

namespace grl {

enum class HandleKind { tensor, device, graph, optimizer, count };

std::atomic<int64_t>& live_handles(HandleKind kind);

// A member that counts its owner: constructed with it, destroyed with it. Copies count as new
// owners; assignment changes nothing.
template <HandleKind K>
struct LiveHandle {
  LiveHandle() { live_handles(K).fetch_add(1, std::memory_order_relaxed); }
  LiveHandle(const LiveHandle&) : LiveHandle() {}
  LiveHandle& operator=(const LiveHandle&) { return *this; }
  ~LiveHandle() { live_handles(K).fetch_sub(1, std::memory_order_relaxed); }
};

}  // namespace grl
