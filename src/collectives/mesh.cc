// mesh.cc: the data-plane listener, link handshakes and epoch replacement (see mesh.h).
#include "collectives/mesh.h"

#include <algorithm>
#include <set>
#include <system_error>

#include "common/log.h"
#include "common/rng.h"

namespace loco::collectives {
namespace {

constexpr size_t kMaxParked = 64;
constexpr Duration kAcceptPoll = std::chrono::milliseconds(100);

std::string peer_text(const wire::Member& m) {
  return "peer " + std::to_string(m.peer_id) + " (" + m.name + " at " + m.data_host + ":" +
         std::to_string(m.data_port) + ")";
}

}  // namespace

Result<std::unique_ptr<Mesh>> Mesh::listen_tcp(MeshOptions options) {
  LOCO_ASSIGN_OR_RETURN(
      std::unique_ptr<transport::Listener> listener,
      transport::listen_tcp_range(options.listen_host, options.listen_port,
                                 options.listen_port_last, options.tcp));
  const transport::TcpOptions tcp = options.tcp;
  MeshDialer dialer = [tcp](const std::string& host, uint16_t port, Deadline deadline) {
    return transport::dial_tcp(host, port, deadline, tcp);
  };
  return std::make_unique<Mesh>(std::move(listener), std::move(dialer), std::move(options));
}

Mesh::Mesh(std::unique_ptr<transport::Listener> listener, MeshDialer dialer, MeshOptions options)
    : options_(std::move(options)),
      listener_(std::move(listener)),
      dialer_(std::move(dialer)),
      port_(listener_->port()) {
  acceptor_ = std::thread([this] { accept_loop(); });
}

Mesh::~Mesh() { shutdown(); }

void Mesh::shutdown() {
  std::vector<std::shared_ptr<EpochLinks>> all;
  std::vector<Parked> parked;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return;
    shut_down_ = true;
    if (current_) all.push_back(current_);
    all.insert(all.end(), retired_.begin(), retired_.end());
    retired_.clear();
    parked.swap(parked_);
  }
  listener_->close();
  if (acceptor_.joinable()) acceptor_.join();
  gate_.close_all();
  reap_handshakes(/*all=*/true);
  for (auto& p : parked) p.conn->close();
  for (auto& links : all) links->shutdown();
}

std::shared_ptr<EpochLinks> Mesh::current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return current_;
}

uint64_t Mesh::epoch() const {
  std::lock_guard<std::mutex> lock(mu_);
  return epoch_;
}

Status Mesh::wait_ready(Deadline deadline) const {
  std::shared_ptr<EpochLinks> links = current();
  if (!links) return FailedPrecondition("no epoch yet");
  return links->wait_ready(deadline);
}

Status Mesh::set_epoch(uint64_t epoch, uint64_t my_peer_id, const std::vector<wire::Member>& ring) {
  std::set<uint64_t> ids;
  size_t rank = ring.size();
  for (size_t i = 0; i < ring.size(); ++i) {
    if (!ids.insert(ring[i].peer_id).second) {
      return InvalidArgument("peer id " + std::to_string(ring[i].peer_id) + " repeats in the ring");
    }
    if (ring[i].peer_id == my_peer_id) rank = i;
  }
  if (rank == ring.size()) {
    return InvalidArgument("peer " + std::to_string(my_peer_id) + " is not in the ring of epoch " +
                           std::to_string(epoch));
  }
  if (options_.stripes == 0 || ring.size() > 16384) {
    return InvalidArgument("stripes must be positive and the ring at most 16384 peers");
  }
  auto links = std::make_shared<EpochLinks>(epoch, rank, ring, options_.stripes);
  if (failure_listener_) links->set_failure_listener(failure_listener_);
  std::shared_ptr<EpochLinks> old;
  std::vector<Parked> due;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return Cancelled("mesh shut down");
    if (current_ && epoch <= epoch_) {
      return FailedPrecondition("epoch " + std::to_string(epoch) + " is not newer than epoch " +
                                std::to_string(epoch_));
    }
    old = std::move(current_);
    current_ = links;
    epoch_ = epoch;
    my_id_ = my_peer_id;
    if (old) retired_.push_back(old);
    auto keep = std::stable_partition(parked_.begin(), parked_.end(),
                                      [epoch](const Parked& p) { return p.hello.epoch > epoch; });
    std::move(keep, parked_.end(), std::back_inserter(due));
    parked_.erase(keep, parked_.end());
    reap_retired_locked();
  }
  if (old) {
    old->fail(Aborted("epoch " + std::to_string(epoch) + " replaced epoch " +
                      std::to_string(old->epoch())));
  }
  for (auto& p : due) {
    if (p.hello.epoch == epoch) {
      judge(links, my_peer_id, p.hello, std::move(p.conn));
    } else {
      answer(*p.conn, p.hello, StatusCode::kAborted, "epoch is over", epoch);
      p.conn->close();
    }
  }
  if (ring.size() > 1) {
    links->spawn([this, links, my_peer_id] { dial_all(links, my_peer_id); });
  }
  return OkStatus();
}

void Mesh::abort_epoch(uint64_t epoch, const std::string& reason) {
  std::shared_ptr<EpochLinks> links;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!current_ || epoch_ != epoch) return;
    links = current_;
  }
  links->fail(Aborted("epoch " + std::to_string(epoch) + " aborted: " + reason));
}

void Mesh::reap_retired_locked() {
  // Joining is quick once a failed epoch's threads have returned; never wait here for one that has
  // not (a dial attempt may take up to a second), shutdown() collects the rest.
  auto done = std::partition(retired_.begin(), retired_.end(),
                             [](const auto& l) { return !l->quiescent(); });
  for (auto it = done; it != retired_.end(); ++it) (*it)->shutdown();
  retired_.erase(done, retired_.end());
}

// ---- accepting ----

void Mesh::accept_loop() {
  for (;;) {
    Result<std::unique_ptr<transport::Connection>> conn =
        listener_->accept(Deadline::after(kAcceptPoll));
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_down_) {
        if (conn.ok()) (*conn)->close();
        return;
      }
      // Forget parked dialers that have certainly given up.
      const TimePoint stale = now() - options_.connect_timeout;
      std::erase_if(parked_, [&](Parked& p) {
        if (p.since > stale) return false;
        p.conn->close();
        return true;
      });
    }
    reap_handshakes(/*all=*/false);
    if (conn.ok()) {
      start_handshake(std::move(*conn));
    } else if (conn.status().code() != StatusCode::kDeadlineExceeded) {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_down_) return;
      LOCO_LOG_WARN("data listener accept failed: {}", conn.status().to_string());
    }
  }
}

void Mesh::start_handshake(std::unique_ptr<transport::Connection> conn) {
  std::lock_guard<std::mutex> lock(handshakes_mu_);
  Handshake& h = handshakes_.emplace_back();
  try {
    h.thread = std::thread([this, &h, c = std::move(conn)]() mutable {
      handle_incoming(std::move(c));
      h.done.store(true, std::memory_order_release);
    });
  } catch (const std::system_error& e) {
    // Out of threads: the connection (moved into the failed lambda) is closed as it is destroyed.
    LOCO_LOG_WARN("data listener: cannot start a handshake thread: {}", e.what());
    handshakes_.pop_back();
  }
}

void Mesh::reap_handshakes(bool all) {
  std::list<Handshake> finished;
  {
    std::lock_guard<std::mutex> lock(handshakes_mu_);
    for (auto it = handshakes_.begin(); it != handshakes_.end();) {
      auto next = std::next(it);
      if (all || it->done.load(std::memory_order_acquire)) {
        finished.splice(finished.end(), handshakes_, it);
      }
      it = next;
    }
  }
  for (Handshake& h : finished) {
    if (h.thread.joinable()) h.thread.join();
  }
}

void Mesh::handle_incoming(std::unique_ptr<transport::Connection> conn) {
  Result<PeerHello> hello = InvalidArgument("no hello");
  {
    conn->set_max_payload(wire::kMaxHandshakePayload);
    transport::AdmissionGate::Ticket ticket = gate_.admit(*conn);
    Result<wire::Frame> f = conn->receive(Deadline::after(options_.handshake_timeout));
    if (!f.ok() || f->type != wire::MsgType::kPeerHello) {
      conn->close();
      return;
    }
    hello = decode_peer_hello(f->payload);
  }
  if (!hello.ok()) {
    conn->close();
    return;
  }
  if (options_.key && !proofs_equal(hello_proof(options_.key, *hello), hello->proof)) {
    answer(*conn, *hello, StatusCode::kUnauthenticated, "bad swarm key proof", 0);
    conn->close();
    return;
  }
  std::shared_ptr<EpochLinks> links;
  uint64_t my_id = 0;
  uint64_t epoch = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      conn->close();
      return;
    }
    epoch = epoch_;
    if (current_ && hello->epoch == epoch_) {
      links = current_;
      my_id = my_id_;
    } else if (!current_ || hello->epoch > epoch_) {
      if (parked_.size() < kMaxParked) {
        parked_.push_back(Parked{*hello, std::move(conn), now()});
        return;
      }
    }
  }
  if (links) {
    judge(links, my_id, *hello, std::move(conn));
    return;
  }
  const bool stale = hello->epoch < epoch;
  answer(*conn, *hello, stale ? StatusCode::kAborted : StatusCode::kResourceExhausted,
         stale ? "stale epoch" : "too many early connections", epoch);
  conn->close();
}

void Mesh::judge(const std::shared_ptr<EpochLinks>& links, uint64_t my_id, const PeerHello& hello,
                 std::unique_ptr<transport::Connection> conn) {
  StatusCode code = StatusCode::kOk;
  std::string reason;
  if (links->failed()) {
    code = StatusCode::kAborted;
    reason = "the links of epoch " + std::to_string(links->epoch()) + " already failed";
  } else if (links->world() < 2 || hello.to_peer != my_id ||
             hello.from_peer != links->prev().peer_id) {
    code = StatusCode::kFailedPrecondition;
    reason = "not my ring predecessor in epoch " + std::to_string(links->epoch());
  } else if (hello.stripes != links->stripes()) {
    code = StatusCode::kInvalidArgument;
    reason = "stripe count " + std::to_string(hello.stripes) + ", mine is " +
             std::to_string(links->stripes());
  } else if (!links->claim_incoming(hello.stripe)) {  // last: only an OK answer claims
    code = StatusCode::kFailedPrecondition;
    reason = "stripe " + std::to_string(hello.stripe) + " already connected";
  }
  const PeerAccept sent = answer(*conn, hello, code, reason, links->epoch());
  if (code != StatusCode::kOk) {
    conn->close();
    return;
  }
  if (options_.key) {
    // The dialer seals once it has checked this PEER_ACCEPT; it sent nothing since its hello.
    Status s = conn->start_sealing(link_seal_keys(*options_.key, hello, sent,
                                                  wire::SealRole::kResponder, options_.encrypt));
    if (!s.ok()) {
      links->release_incoming(hello.stripe);
      conn->close();
      return;
    }
  }
  conn->set_max_payload(options_.max_piece_bytes);
  links->install_incoming(hello.stripe, std::move(conn));
}

PeerAccept Mesh::answer(transport::Connection& conn, const PeerHello& hello, StatusCode code,
                        const std::string& reason, uint64_t epoch) {
  PeerAccept a;
  a.code = code;
  a.epoch = epoch;
  a.reason = reason;
  secure_random(a.nonce);
  a.proof = accept_proof(options_.key, hello, a);
  conn.send(wire::MsgType::kPeerAccept, a.encode(), Deadline::after(options_.handshake_timeout))
      .ignore();  // a dialer that went away learns nothing: fine (its link fails the epoch)
  return a;
}

// ---- dialing ----

void Mesh::dial_all(const std::shared_ptr<EpochLinks>& links, uint64_t my_id) {
  const Deadline deadline = Deadline::after(options_.connect_timeout);
  for (size_t s = 0; s < links->stripes(); ++s) {
    Status st = dial_stripe(*links, my_id, s, deadline);
    if (!st.ok()) {
      links->fail(st);
      return;
    }
  }
}

Status Mesh::dial_stripe(EpochLinks& links, uint64_t my_id, size_t stripe, Deadline deadline) {
  const wire::Member& next = links.next();
  Duration backoff = std::chrono::milliseconds(5);
  Status last = Unavailable("no attempt made");
  bool reached = false;  // a dial connected at least once
  bool refused = false;  // some attempt was refused (the last one may just have run out of time)
  for (;;) {
    if (links.failed()) return links.status();
    if (deadline.expired()) {
      if (!reached && unreachable_listener_) {
        const std::string text = last.message();
        const bool timed_out = last.code() == StatusCode::kDeadlineExceeded ||
                               text.find("timed out") != std::string::npos;
        const std::string cause = refused     ? "connection refused"
                                  : timed_out ? "timed out"
                                              : text;
        const bool v6 = next.data_host.find(':') != std::string::npos;
        const std::string address = (v6 ? "[" + next.data_host + "]" : next.data_host) + ":" +
                                    std::to_string(next.data_port);
        unreachable_listener_(links.epoch(), next, address, cause);
      }
      return Unavailable("could not link to the next " + peer_text(next) + " for epoch " +
                         std::to_string(links.epoch()) + ": " + last.to_string());
    }
    const Deadline attempt = deadline.earliest(Deadline::after(std::chrono::seconds(1)));
    Result<std::unique_ptr<transport::Connection>> dialed =
        dialer_(next.data_host, next.data_port, attempt);
    if (!dialed.ok()) {
      last = dialed.status();
      if (last.message().find("refused") != std::string::npos) refused = true;
      std::this_thread::sleep_for(backoff);
      backoff = std::min<Duration>(backoff * 2, std::chrono::milliseconds(100));
      continue;
    }
    reached = true;
    std::unique_ptr<transport::Connection> conn = std::move(*dialed);
    PeerHello hello;
    hello.epoch = links.epoch();
    hello.from_peer = my_id;
    hello.to_peer = next.peer_id;
    hello.stripe = static_cast<uint32_t>(stripe);
    hello.stripes = static_cast<uint32_t>(links.stripes());
    secure_random(hello.nonce);
    hello.proof = hello_proof(options_.key, hello);
    last = conn->send(wire::MsgType::kPeerHello, hello.encode(), attempt);
    if (!last.ok()) continue;
    // Wait for the answer in slices so that a replaced epoch stops this dialer promptly (the
    // listener may park us for a while if it has not reached our epoch yet).
    Result<wire::Frame> reply = DeadlineExceeded("no reply yet");
    while (!links.failed() && !deadline.expired()) {
      reply = conn->receive(deadline.earliest(Deadline::after(kAcceptPoll)));
      if (reply.ok() || reply.status().code() != StatusCode::kDeadlineExceeded ||
          conn->is_closed()) {
        break;
      }
    }
    if (!reply.ok()) {
      conn->close();
      last = reply.status();
      continue;
    }
    if (reply->type != wire::MsgType::kPeerAccept) {
      return DataLoss("next " + peer_text(next) + " answered PEER_HELLO with " +
                      wire::msg_type_name(reply->type));
    }
    LOCO_ASSIGN_OR_RETURN(PeerAccept accept, decode_peer_accept(reply->payload));
    if (options_.key && !proofs_equal(accept_proof(options_.key, hello, accept), accept.proof)) {
      return Unauthenticated("next " + peer_text(next) + " does not hold the swarm key");
    }
    if (accept.code != StatusCode::kOk) {
      return Status(
          accept.code == StatusCode::kAborted ? StatusCode::kAborted : StatusCode::kUnavailable,
          "next " + peer_text(next) + " refused the link for epoch " +
              std::to_string(links.epoch()) + " (its epoch " + std::to_string(accept.epoch) +
              "): " + accept.reason);
    }
    if (options_.key) {
      LOCO_RETURN_IF_ERROR(conn->start_sealing(
          link_seal_keys(*options_.key, hello, accept, wire::SealRole::kInitiator, options_.encrypt)));
    }
    conn->set_max_payload(options_.max_piece_bytes);
    conn->set_data_payload_checksum(options_.payload_checksum == PayloadChecksum::kAlways ||
                                    (options_.payload_checksum == PayloadChecksum::kRemoteOnly &&
                                     !conn->remote_is_loopback()));
    if (!links.install_outgoing(stripe, std::move(conn))) return links.status();
    return OkStatus();
  }
}

}  // namespace loco::collectives
