// swarm_peer.cc: wiring of PeerClient, Mesh and Communicator (see swarm_peer.h).
#include "collectives/swarm_peer.h"

#include <thread>

#include "common/log.h"

namespace loco::collectives {

// Commit votes through the coordinator.
class SwarmPeer::Voter : public CommitVoter {
 public:
  explicit Voter(membership::PeerClient* client) : client_(client) {}
  Status vote(const wire::OpId& op, Deadline deadline) override { return client_->vote(op, deadline); }

 private:
  membership::PeerClient* client_;
};

Result<std::unique_ptr<SwarmPeer>> SwarmPeer::join(SwarmPeerOptions options) {
  std::unique_ptr<SwarmPeer> p(new SwarmPeer());
  if (!options.mesh.key && options.peer.key) {
    options.mesh.key = options.peer.key->bytes;
    options.mesh.encrypt = options.peer.encrypt;
  }
  auto mesh = Mesh::listen_tcp(options.mesh);
  if (!mesh.ok()) return mesh.status().with_context("data-plane listener");
  p->mesh_ = std::move(mesh).value();
  options.peer.data_port = options.advertise_port != 0 ? options.advertise_port : p->mesh_->port();
  if (options.peer.data_host.empty() && options.mesh.listen_host != "0.0.0.0" &&
      options.mesh.listen_host != "::") {
    options.peer.data_host = options.mesh.listen_host;
  }
  Mesh* mesh_ptr = p->mesh_.get();
  // A data-plane failure that membership did not cause (a broken link, a peer hung only in its
  // data plane) would leave every retry failing in the same epoch: report it so the coordinator
  // re-forms the ring. The client pointer is set once join() succeeds.
  auto client_slot = std::make_shared<std::atomic<membership::PeerClient*>>(nullptr);
  p->client_slot_ = client_slot;
  p->mesh_->set_failure_listener([client_slot](uint64_t epoch, const Status& why) {
    if (membership::PeerClient* c = client_slot->load()) c->report_link_failure(epoch, why.to_string());
  });
  // The next peer never answered at its advertised address: say so, so that the coordinator can
  // tell that peer in words (wire::PeerUnreachable) instead of re-forming the ring in silence.
  p->mesh_->set_unreachable_listener([client_slot](uint64_t epoch, const wire::Member& next,
                                                   const std::string& address,
                                                   const std::string& cause) {
    LOCO_LOG_ERROR("could not reach the next peer {} ('{}') at {} ({}) for epoch {}", next.peer_id,
                   next.name, address, cause, epoch);
    if (membership::PeerClient* c = client_slot->load()) {
      c->report_unreachable(epoch, next.peer_id, address, cause);
    }
  });
  auto user_listener = options.peer.on_epoch;
  options.peer.on_epoch = [mesh_ptr, user_listener](const membership::MembershipView& v) {
    if (v.rank >= 0) {
      Status s = mesh_ptr->set_epoch(v.epoch, v.members[static_cast<size_t>(v.rank)].peer_id,
                                     v.members);
      s.ignore();  // a failed epoch shows up as failed operations, which retry
    }
    if (user_listener) user_listener(v);
  };
  auto client = membership::PeerClient::join(options.peer);
  if (!client.ok()) return client.status();
  p->client_ = std::move(client).value();
  client_slot->store(p->client_.get());
  p->voter_ = std::make_unique<Voter>(p->client_.get());
  p->comm_ = std::make_unique<Communicator>(*p->mesh_, *p->voter_, options.comm);
  return p;
}

uint16_t SwarmPeer::data_port() const { return mesh_->port(); }

SwarmPeer::~SwarmPeer() {
  if (client_slot_) client_slot_->store(nullptr);
  comm_.reset();
  if (mesh_) mesh_->shutdown();
  client_.reset();
}

Status SwarmPeer::wait_for_world(int min_world, Deadline deadline) {
  for (;;) {
    uint64_t epoch = 0;
    LOCO_RETURN_IF_ERROR(client_->wait_for(
        [&](const membership::MembershipView& v) {
          epoch = v.epoch;
          return v.rank >= 0 && v.world_size() >= min_world;
        },
        deadline));
    // The epoch listener installs the links right after the view changes: wait for that too.
    while (mesh_->epoch() < epoch) {
      if (deadline.expired()) return DeadlineExceeded("waiting for the data-plane links");
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    Status links = mesh_->wait_ready(deadline);
    if (links.ok() || links.code() == StatusCode::kDeadlineExceeded || !is_retryable(links.code())) {
      return links;
    }
    // This epoch's links will not come up (replaced, or a neighbour unreachable, which the mesh
    // has reported): the coordinator forms the next epoch; wait for it and try that one.
    LOCO_LOG_INFO("links of epoch {} failed ({}); waiting for the next epoch", epoch,
                  links.to_string());
    auto next = client_->wait_for_epoch_after(epoch, deadline);
    if (!next.ok()) {
      return next.status().code() == StatusCode::kDeadlineExceeded
                 ? DeadlineExceeded("no epoch after " + std::to_string(epoch) +
                                    " in time; its links: " + links.to_string())
                 : next.status();
    }
  }
}

Status SwarmPeer::wait_next_epoch(uint64_t after, Deadline deadline) {
  auto next = client_->wait_for_epoch_after(after, deadline);
  if (!next.ok()) return next.status().with_context("waiting for a new membership");
  return wait_for_world(1, deadline);
}

void SwarmPeer::leave(const std::string& reason) {
  if (client_) client_->leave(reason);
}

}  // namespace loco::collectives
