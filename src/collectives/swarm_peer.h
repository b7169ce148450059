// swarm_peer.h: one peer of a swarm with everything wired together: the membership client
// (coordinator connection, heartbeats, epochs), the data-plane mesh (links to ring neighbours,
// re-formed at each epoch), and the Communicator whose commit votes go through the coordinator.
// This is what `loco` workers, benchmarks, multi-process tests and the C API use. It adds no
// logic of its own beyond the wiring and the retry helper.
#pragma once

#include <atomic>
#include <functional>
#include <memory>

#include "collectives/communicator.h"
#include "collectives/mesh.h"
#include "membership/peer.h"

namespace loco::collectives {

struct SwarmPeerOptions {
  membership::PeerOptions peer;  // coordinator address, key, name; data_port is filled in
  // The data-plane port other peers dial when it differs from the one the mesh listens on (a NAT
  // or a container's port mapping); 0: the listening port. The address is peer.data_host.
  uint16_t advertise_port = 0;
  MeshOptions mesh;              // data-plane listener; key defaults to the swarm key
  CommunicatorOptions comm;
};

class SwarmPeer {
 public:
  // Listens for data-plane links, joins the swarm, and follows every epoch. Statuses as
  // membership::PeerClient::join and Mesh::listen_tcp.
  static Result<std::unique_ptr<SwarmPeer>> join(SwarmPeerOptions options);
  ~SwarmPeer();

  Communicator& comm() { return *comm_; }
  membership::PeerClient& client() { return *client_; }
  membership::MembershipView view() const { return client_->view(); }
  uint64_t peer_id() const { return client_->peer_id(); }
  uint16_t data_port() const;  // the port the data plane listens on

  // Waits until this peer is a member of an epoch with at least `min_world` members and that
  // epoch's data-plane links are up.
  Status wait_for_world(int min_world, Deadline deadline);

  // Runs `op` until it succeeds or fails with a status other than ABORTED/UNAVAILABLE/
  // DEADLINE_EXCEEDED; between tries it waits for the next epoch (the retry idiom). `tries`
  // bounds the attempts.
  template <typename Op>
  auto with_retry(Op&& op, int tries, Deadline deadline) -> decltype(op());

  // Graceful leave; idempotent.
  void leave(const std::string& reason);

 private:
  SwarmPeer() = default;
  class Voter;

  std::unique_ptr<Mesh> mesh_;
  std::unique_ptr<membership::PeerClient> client_;
  std::unique_ptr<Voter> voter_;
  std::unique_ptr<Communicator> comm_;
  std::shared_ptr<std::atomic<membership::PeerClient*>> client_slot_;
};

// True for the statuses after which retrying with the next membership is the right move.
inline bool is_retryable(StatusCode code) {
  return code == StatusCode::kAborted || code == StatusCode::kUnavailable ||
         code == StatusCode::kDeadlineExceeded;
}

template <typename Op>
auto SwarmPeer::with_retry(Op&& op, int tries, Deadline deadline) -> decltype(op()) {
  for (int attempt = 1;; ++attempt) {
    const uint64_t epoch = view().epoch;
    auto result = op();
    if (result.ok() || !is_retryable(result.status().code()) || attempt >= tries) return result;
    if (!client_->health().ok()) return client_->health();
    // Wait for the membership to move on (or at least for links of the current epoch).
    auto next = client_->wait_for_epoch_after(epoch, deadline);
    if (!next.ok() && next.status().code() != StatusCode::kDeadlineExceeded) return next.status();
    if (deadline.expired()) return result;
    Status ready = wait_for_world(1, deadline);
    ready.ignore();
  }
}

}  // namespace loco::collectives
