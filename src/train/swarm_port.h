// swarm_port.h: the one facade the trainer sees of the swarm's membership: the epochs, the retry
// idiom's wait (the next epoch with its links up), and the shared-state syncs of
// state_rendezvous.h. session.cc implements it over collectives::SwarmPeer + state::StateSync;
// tests use fakes. Not here: the retry loop (trainer.cc) or the rendezvous rule.
#pragma once

#include <cstdint>

#include "common/status.h"
#include "state/shared_state.h"
#include "state/state_sync.h"

namespace loco::train {

class SwarmPort {
 public:
  virtual ~SwarmPort() = default;
  virtual uint64_t epoch() const = 0;       // the membership epoch this peer last saw
  virtual uint64_t data_epoch() const = 0;  // the epoch of the collectives' links
  virtual int world() const = 0;
  // The retry idiom's wait: an epoch newer than `epoch` whose data-plane links are up
  // (collectives::SwarmPeer::wait_next_epoch).
  [[nodiscard]] virtual Status wait_after(uint64_t epoch) = 0;
  // Waits until the current epoch's data-plane links are up.
  [[nodiscard]] virtual Status wait_links() = 0;
  // One StateSync::sync with every member of the current epoch.
  [[nodiscard]] virtual Result<state::SyncResult> sync(state::SharedState& state,
                                                       state::SyncStrategy role) = 0;
};

}  // namespace loco::train
