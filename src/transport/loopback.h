// loopback.h: an in-process transport for deterministic tests. A LoopbackNetwork maps names to
// listeners; dial(name) makes a connected pair of Connections whose frames travel as encoded bytes
// through in-memory queues, so the real frame validation (wire/frame.h) runs on every receive.
// A FaultInjector (fault_injector.h) sees every frame sent and can drop, delay, corrupt or cut.
// Semantics follow connection.h: close() on one end lets the other drain what was already sent and
// then get UNAVAILABLE; sends to a closed or cut peer get UNAVAILABLE; a cut discards everything in
// flight. Sends never block (queues are unbounded), so only receives and accept wait on deadlines.
// Not here: sockets, timing realism (bandwidth, latency other than injected delays).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/status.h"
#include "transport/connection.h"
#include "transport/fault_injector.h"
#include "wire/frame.h"

namespace loco::transport {

class LoopbackNetwork {
 public:
  // `faults` is shared by every connection of this network (a fresh one with seed 1 if null).
  explicit LoopbackNetwork(std::shared_ptr<FaultInjector> faults = nullptr,
                           uint32_t max_payload = wire::kMaxControlPayload);
  ~LoopbackNetwork();
  LoopbackNetwork(const LoopbackNetwork&) = delete;
  LoopbackNetwork& operator=(const LoopbackNetwork&) = delete;

  // FAILED_PRECONDITION if a live listener already has this name.
  Result<std::unique_ptr<Listener>> listen(const std::string& name);
  // UNAVAILABLE if no live listener has this name. `faults` overrides the network's injector for
  // this one connection (both directions).
  Result<std::unique_ptr<Connection>> dial(const std::string& name, Deadline deadline,
                                           std::shared_ptr<FaultInjector> faults = nullptr);

  FaultInjector& faults() { return *faults_; }
  const std::shared_ptr<FaultInjector>& faults_ptr() const { return faults_; }

  struct State;  // internal (loopback.cc), shared with the listeners it makes

 private:
  std::shared_ptr<FaultInjector> faults_;
  std::shared_ptr<State> state_;
};

}  // namespace loco::transport
