// peer.cc: join handshake, heartbeats, epoch tracking and commit votes (see peer.h).
#include "membership/peer.h"

#include "common/log.h"
#include "transport/tcp.h"

namespace loco::membership {

namespace {
constexpr auto kSendTimeout = std::chrono::seconds(2);

Status status_from_reject(const wire::Frame& frame, std::string_view during) {
  auto rej = wire::decode_reject(frame.payload);
  if (!rej.ok()) return rej.status();
  return Status(rej->code, "coordinator rejected " + std::string(during) + ": " + rej->reason);
}
}  // namespace

PeerClient::PeerClient(PeerOptions options)
    : options_(std::move(options)), listener_(options_.on_epoch) {}

Result<std::unique_ptr<PeerClient>> PeerClient::join(PeerOptions options) {
  if (options.name.size() > wire::kMaxNameLen || options.data_host.size() > wire::kMaxNameLen) {
    return InvalidArgument("peer name and data host must be at most " +
                           std::to_string(wire::kMaxNameLen) + " bytes");
  }
  std::unique_ptr<PeerClient> p(new PeerClient(std::move(options)));
  const Deadline deadline = Deadline::after(p->options_.connect_timeout);
  transport::TcpOptions tcp;
  tcp.max_payload = wire::kMaxControlPayload;
  tcp.send_buffer_bytes = 256 << 10;
  tcp.recv_buffer_bytes = 256 << 10;
  auto conn = transport::dial_tcp(p->options_.coordinator_host, p->options_.coordinator_port,
                                  deadline, tcp);
  if (!conn.ok()) return conn.status().with_context("connect to coordinator");
  p->conn_ = std::move(conn).value();
  LOCO_RETURN_IF_ERROR(p->handshake(deadline));
  p->last_ack_ = now();
  p->reader_ = std::thread([raw = p.get()] { raw->reader_loop(); });
  p->heartbeat_ = std::thread([raw = p.get()] { raw->heartbeat_loop(); });
  return p;
}

Status PeerClient::handshake(Deadline deadline) {
  wire::Hello hello;
  hello.client_nonce = make_nonce();
  hello.name = options_.name;
  hello.data_host = options_.data_host;
  hello.data_port = options_.data_port;
  LOCO_RETURN_IF_ERROR(conn_->send(wire::MsgType::kHello, hello.encode(), deadline));

  LOCO_ASSIGN_OR_RETURN(wire::Frame frame, conn_->receive(deadline));
  if (frame.type == wire::MsgType::kReject) return status_from_reject(frame, "HELLO");
  if (frame.type != wire::MsgType::kChallenge) return DataLoss("expected CHALLENGE from coordinator");
  LOCO_ASSIGN_OR_RETURN(wire::Challenge challenge, wire::decode_challenge(frame.payload));
  if (challenge.auth_required && !options_.key) {
    return Unauthenticated("the coordinator requires a swarm secret (--secret-file or LOCO_SECRET)");
  }
  if (!challenge.auth_required && options_.key) {
    // We hold a secret, so we expect the coordinator to prove it holds it too; one that does not
    // ask for it could be an impostor.
    return Unauthenticated("the coordinator does not use a swarm secret; refusing to join it");
  }
  wire::Auth auth;
  if (challenge.auth_required) {
    auth.proof = client_proof(*options_.key, hello.client_nonce, challenge.server_nonce);
  }
  LOCO_RETURN_IF_ERROR(conn_->send(wire::MsgType::kAuth, auth.encode(), deadline));

  LOCO_ASSIGN_OR_RETURN(frame, conn_->receive(deadline));
  if (frame.type == wire::MsgType::kReject) return status_from_reject(frame, "AUTH");
  if (frame.type != wire::MsgType::kWelcome) return DataLoss("expected WELCOME from coordinator");
  LOCO_ASSIGN_OR_RETURN(wire::Welcome welcome, wire::decode_welcome(frame.payload));
  if (challenge.auth_required &&
      !proof_matches(server_proof(*options_.key, hello.client_nonce, challenge.server_nonce),
                     welcome.server_proof)) {
    return Unauthenticated("the coordinator could not prove it knows the swarm secret");
  }
  if (challenge.auth_required) {
    // Everything after WELCOME is sealed both ways (the coordinator switched after sending it).
    LOCO_RETURN_IF_ERROR(conn_->start_sealing(
        control_seal_keys(*options_.key, hello.client_nonce, challenge.server_nonce,
                          wire::SealRole::kInitiator, options_.encrypt)));
  }
  if (welcome.heartbeat_period_ms == 0 || welcome.heartbeat_timeout_ms <= welcome.heartbeat_period_ms) {
    return DataLoss("WELCOME with invalid heartbeat settings");
  }
  peer_id_ = welcome.peer_id;
  heartbeat_period_ = std::chrono::milliseconds(welcome.heartbeat_period_ms);
  heartbeat_timeout_ = std::chrono::milliseconds(welcome.heartbeat_timeout_ms);
  LOCO_LOG_DEBUG("joined as peer {} (heartbeat {} ms)", peer_id_, welcome.heartbeat_period_ms);
  return OkStatus();
}

PeerClient::~PeerClient() {
  stopping_ = true;
  if (conn_) conn_->close();
  {
    std::lock_guard<std::mutex> lock(mu_);
    cv_.notify_all();
  }
  if (reader_.joinable()) reader_.join();
  if (heartbeat_.joinable()) heartbeat_.join();
}

MembershipView PeerClient::view() const {
  std::lock_guard<std::mutex> lock(mu_);
  return view_;
}

Status PeerClient::health() const {
  std::lock_guard<std::mutex> lock(mu_);
  return health_;
}

void PeerClient::fail(Status why) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (health_.ok()) health_ = std::move(why);
    cv_.notify_all();
  }
  conn_->close();
}

Status PeerClient::wait_for(const std::function<bool(const MembershipView&)>& pred,
                            Deadline deadline) const {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (pred(view_)) return OkStatus();
    if (!health_.ok()) return health_;
    if (deadline.is_never()) {
      cv_.wait(lock);
    } else if (cv_.wait_until(lock, deadline.when()) == std::cv_status::timeout) {
      if (pred(view_)) return OkStatus();
      return DeadlineExceeded("waiting for membership");
    }
  }
}

Result<MembershipView> PeerClient::wait_for_epoch_after(uint64_t epoch, Deadline deadline) const {
  LOCO_RETURN_IF_ERROR(wait_for([&](const MembershipView& v) { return v.epoch > epoch; }, deadline));
  return view();
}

Status PeerClient::vote(const wire::OpId& op, Deadline deadline) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!health_.ok()) return health_;
    if (view_.epoch != op.epoch) return Aborted("epoch changed before the commit vote");
  }
  LOCO_RETURN_IF_ERROR(conn_->send(wire::MsgType::kOpDone, wire::OpDone{op}.encode(),
                                   deadline.earliest(Deadline::after(kSendTimeout))));
  if (options_.test_after_op_done) options_.test_after_op_done(op);
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    if (commits_.erase(op) > 0) return OkStatus();
    if (view_.epoch != op.epoch) {
      return Aborted("epoch " + std::to_string(view_.epoch) + " replaced epoch " +
                     std::to_string(op.epoch) + " before every peer completed");
    }
    if (!health_.ok()) return health_;
    if (deadline.is_never()) {
      cv_.wait(lock);
    } else if (cv_.wait_until(lock, deadline.when()) == std::cv_status::timeout) {
      if (commits_.erase(op) > 0) return OkStatus();
      return DeadlineExceeded("commit vote timed out");
    }
  }
}

void PeerClient::report_link_failure(uint64_t epoch, const std::string& reason) {
  if (stopping_ || !health().ok()) return;
  const wire::LinkFailed lf{epoch, reason, 0, "", ""};
  Status s = conn_->send(wire::MsgType::kLinkFailed, lf.encode(), Deadline::after(kSendTimeout));
  if (!s.ok()) LOCO_LOG_DEBUG("link failure report: {}", s.to_string());
}

void PeerClient::report_unreachable(uint64_t epoch, uint64_t peer_id, const std::string& address,
                                    const std::string& cause) {
  if (stopping_ || !health().ok()) return;
  wire::LinkFailed lf{epoch, "could not reach peer " + std::to_string(peer_id) + " at " + address,
                      peer_id, address, cause};
  Status s = conn_->send(wire::MsgType::kLinkFailed, lf.encode(), Deadline::after(kSendTimeout));
  if (!s.ok()) LOCO_LOG_DEBUG("unreachable report: {}", s.to_string());
}

std::string PeerClient::unreachable_notice() const {
  std::lock_guard<std::mutex> lock(mu_);
  return unreachable_notice_;
}

void PeerClient::leave(const std::string& reason) {
  if (stopping_.exchange(true)) return;
  Status s = conn_->send(wire::MsgType::kLeave, wire::Leave{reason}.encode(),
                         Deadline::after(kSendTimeout));
  if (!s.ok()) LOCO_LOG_DEBUG("leave: {}", s.to_string());
  // Wait briefly for the coordinator to close the connection, so the leave is processed before a
  // possible process exit.
  Status w = wait_for([](const MembershipView&) { return false; },
                      Deadline::after(std::chrono::seconds(2)));
  w.ignore();
  fail(Cancelled("left the swarm: " + reason));
}

void PeerClient::reader_loop() {
  for (;;) {
    auto frame = conn_->receive(Deadline::never());
    if (!frame.ok()) {
      fail(stopping_ ? Cancelled("peer client closed")
                     : frame.status().code() == StatusCode::kUnavailable
                           ? Unavailable("lost the coordinator: " + frame.status().message())
                           : frame.status());
      return;
    }
    switch (frame->type) {
      case wire::MsgType::kHeartbeatAck: {
        auto ack = wire::decode_heartbeat_ack(frame->payload);
        if (!ack.ok()) return fail(ack.status());
        std::lock_guard<std::mutex> lock(mu_);
        last_ack_ = now();
        break;
      }
      case wire::MsgType::kEpoch: {
        auto ep = wire::decode_epoch(frame->payload);
        if (!ep.ok()) return fail(ep.status());
        std::function<void(const MembershipView&)> listener;
        MembershipView v;
        {
          std::lock_guard<std::mutex> lock(mu_);
          if (ep->epoch <= view_.epoch) return fail(DataLoss("coordinator sent an old epoch"));
          v.epoch = ep->epoch;
          v.members = std::move(ep->members);
          for (size_t i = 0; i < v.members.size(); ++i) {
            if (v.members[i].peer_id == peer_id_) v.rank = static_cast<int>(i);
          }
          // Keep commits of the epoch being replaced: an OP_COMMIT always arrives before the next
          // EPOCH, but the voting thread may not have seen it yet. Older ones can go.
          const uint64_t previous = view_.epoch;
          std::erase_if(commits_, [&](const wire::OpId& op) { return op.epoch < previous; });
          view_ = v;
          last_ack_ = now();
          listener = listener_;
          cv_.notify_all();
        }
        if (listener) listener(v);
        break;
      }
      case wire::MsgType::kOpCommit: {
        auto c = wire::decode_op_commit(frame->payload);
        if (!c.ok()) return fail(c.status());
        std::lock_guard<std::mutex> lock(mu_);
        if (c->op.epoch == view_.epoch) commits_.insert(c->op);
        cv_.notify_all();
        break;
      }
      case wire::MsgType::kStatePlan:
      case wire::MsgType::kStateComplete: {
        Status st = on_state_frame(*frame);
        if (!st.ok()) return fail(st);
        break;
      }
      case wire::MsgType::kPeerUnreachable: {
        auto pu = wire::decode_peer_unreachable(frame->payload);
        if (!pu.ok()) return fail(pu.status());
        std::string text = "peer " + std::to_string(pu->from_peer) +
                           (pu->from_name.empty() ? "" : " ('" + pu->from_name + "')") +
                           " could not reach you at " + pu->address + " (" + pu->cause +
                           "): set --advertise (advertise_host in the C API) to an address it "
                           "can reach, or open the port";
        LOCO_LOG_ERROR("{}", text);
        std::lock_guard<std::mutex> lock(mu_);
        unreachable_notice_ = std::move(text);
        break;
      }
      case wire::MsgType::kReject: {
        Status s = status_from_reject(*frame, "this peer");
        if (s.code() == StatusCode::kDeadlineExceeded) {
          s = Unavailable("declared dead by the coordinator: " + s.message());
        }
        return fail(s);
      }
      default:
        return fail(DataLoss(std::string("unexpected ") + wire::msg_type_name(frame->type) +
                             " from coordinator"));
    }
  }
}

void PeerClient::heartbeat_loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stopping_ && health_.ok()) {
    cv_.wait_for(lock, heartbeat_period_);
    if (stopping_ || !health_.ok()) break;
    if (now() - last_ack_ > heartbeat_timeout_) {
      lock.unlock();
      fail(Unavailable("the coordinator stopped answering heartbeats"));
      return;
    }
    wire::Heartbeat hb{heartbeat_seq_.fetch_add(1) + 1, view_.epoch};
    lock.unlock();
    Status s = conn_->send(wire::MsgType::kHeartbeat, hb.encode(), Deadline::after(kSendTimeout));
    if (!s.ok()) {
      fail(Unavailable("heartbeat send failed: " + s.message()));
      return;
    }
    lock.lock();
  }
}

}  // namespace loco::membership
