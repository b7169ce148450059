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
  // epoch's data-plane links are up. An epoch that is replaced before its links are up (ABORTED)
  // or whose links fail (UNAVAILABLE: a neighbour unreachable) is followed by the next one, so a
  // joiner under churn keeps going. OK; DEADLINE_EXCEEDED; the coordinator connection's failure
  // (client().health()); a link failure that retrying does not cure (UNAUTHENTICATED, ...).
  Status wait_for_world(int min_world, Deadline deadline);
  // The retry idiom's wait: an epoch newer than `after` (the one a failed operation ran in) with
  // this peer in it and its links up. Statuses as wait_for_world.
  Status wait_next_epoch(uint64_t after, Deadline deadline);

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

template <typename Op>
auto SwarmPeer::with_retry(Op&& op, int tries, Deadline deadline) -> decltype(op()) {
  for (int attempt = 1;; ++attempt) {
    const uint64_t epoch = view().epoch;
    auto result = op();
    if (result.ok() || !is_retryable(result.status().code()) || attempt >= tries) return result;
    Status next = wait_next_epoch(epoch, deadline);
    if (next.code() == StatusCode::kDeadlineExceeded) return result;
    if (!next.ok()) return next;
  }
}

}  // namespace loco::collectives
