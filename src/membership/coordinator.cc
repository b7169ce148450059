// coordinator.cc: sockets, threads and the handshake around CoordinatorState (see coordinator.h).
#include "membership/coordinator.h"

#include <deque>
#include <system_error>

#include "common/log.h"
#include "transport/tcp.h"
#include "wire/messages.h"

namespace loco::membership {

namespace {
constexpr auto kSendTimeout = std::chrono::seconds(2);
// Frames queued to one connection at most: a peer that stops reading its control connection while
// the swarm keeps talking to it is disconnected instead of growing the coordinator's memory.
constexpr size_t kMaxOutbox = 4096;
}  // namespace

// One control connection: a reader thread (serve) and a writer thread draining `outbox`.
struct Coordinator::Session {
  ConnId id = 0;
  std::unique_ptr<transport::Connection> conn;
  std::mutex mu;
  std::condition_variable cv;
  struct Item {
    wire::MsgType type;
    Bytes payload;
    bool close_after = false;
    std::shared_ptr<const Bytes> shared;  // used instead of `payload` when set (EPOCH)
  };
  std::deque<Item> outbox;
  bool closing = false;         // no more items accepted
  bool authenticated = false;   // the state machine knows this conn
  wire::Proof server_proof{};   // sent in WELCOME
  std::optional<wire::SealKeys> seal;  // with a secret: sending is sealed right after WELCOME
  std::atomic<bool> finished{false};
  transport::AdmissionGate::Ticket ticket;  // held until the handshake ends (after conn: freed first)
  std::thread reader;
  std::thread writer;

  void enqueue(wire::MsgType type, Bytes payload, bool close_after = false,
               std::shared_ptr<const Bytes> shared = nullptr) {
    std::lock_guard<std::mutex> lock(mu);
    if (closing) return;
    if (outbox.size() >= kMaxOutbox) {
      LOCO_LOG_WARN("conn {}: {} frames queued and unread: disconnecting it", id, outbox.size());
      closing = true;
      conn->close();  // the writer's send fails and it returns; the reader sees the close
      cv.notify_one();
      return;
    }
    outbox.push_back(Item{type, std::move(payload), close_after, std::move(shared)});
    if (close_after) closing = true;
    cv.notify_one();
  }
  // Closes the connection soon. When a final frame (a REJECT) is already queued, the writer sends
  // it and then closes: closing the socket here first could drop that frame, so the client would
  // see a bare EOF instead of the reason (a race the reaper used to lose under load).
  void close_now() {
    bool flush_first = false;
    {
      std::lock_guard<std::mutex> lock(mu);
      flush_first = closing;
      if (!closing) {
        closing = true;
        outbox.push_back(Item{wire::MsgType::kReject, {}, true, nullptr});
        cv.notify_one();
      }
    }
    if (!flush_first) conn->close();
  }
  void write_loop() {
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return !outbox.empty(); });
        item = std::move(outbox.front());
        outbox.pop_front();
      }
      if (!item.payload.empty() || item.shared || !item.close_after) {
        const ByteSpan payload = item.shared ? ByteSpan(*item.shared) : ByteSpan(item.payload);
        Status s = conn->send(item.type, payload, Deadline::after(kSendTimeout));
        if (s.ok() && item.type == wire::MsgType::kWelcome && seal) {
          s = conn->seal_send(seal->send, seal->cipher);
        }
        if (!s.ok()) {
          LOCO_LOG_DEBUG("conn {}: send failed: {}", id, s.to_string());
          conn->close();
          return;
        }
      }
      if (item.close_after) {
        conn->close();
        return;
      }
    }
  }
};

Coordinator::Coordinator(CoordinatorOptions options)
    : options_(std::move(options)), state_(options_.config) {}

Result<std::unique_ptr<Coordinator>> Coordinator::start(CoordinatorOptions options) {
  if (options.config.heartbeat_period <= Duration::zero() ||
      options.config.heartbeat_timeout <= options.config.heartbeat_period) {
    return InvalidArgument("heartbeat timeout must be longer than the heartbeat period (> 0)");
  }
  if (options.tick_interval <= Duration::zero()) {
    options.tick_interval = std::max<Duration>(options.config.heartbeat_period / 5,
                                               std::chrono::milliseconds(5));
  }
  std::unique_ptr<Coordinator> c(new Coordinator(std::move(options)));
  transport::TcpOptions tcp;
  tcp.max_payload = wire::kMaxControlPayload;
  tcp.send_buffer_bytes = 256 << 10;
  tcp.recv_buffer_bytes = 256 << 10;
  auto listener = transport::listen_tcp(c->options_.host, c->options_.port, tcp);
  if (!listener.ok()) return listener.status().with_context("coordinator");
  c->listener_ = std::move(listener).value();
  c->port_ = c->listener_->port();
  if (!c->options_.key) {
    LOCO_LOG_WARN("no swarm secret configured: accepting peers from loopback addresses only "
                  "(set --secret-file or LOCO_SECRET to admit remote peers)");
  }
  LOCO_LOG_INFO("coordinator listening on {}:{} (heartbeat {} ms, timeout {} ms)",
                c->options_.host, c->port_,
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    c->options_.config.heartbeat_period).count(),
                std::chrono::duration_cast<std::chrono::milliseconds>(
                    c->options_.config.heartbeat_timeout).count());
  c->acceptor_ = std::thread([p = c.get()] { p->accept_loop(); });
  c->ticker_ = std::thread([p = c.get()] { p->tick_loop(); });
  return c;
}

Coordinator::~Coordinator() { stop(); }

void Coordinator::stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard<std::mutex> lock(stop_mu_);
    stop_cv_.notify_all();
  }
  // A coordinator whose listen failed is destroyed without ever having a listener.
  if (listener_) listener_->close();
  if (acceptor_.joinable()) acceptor_.join();
  if (ticker_.joinable()) ticker_.join();
  std::map<ConnId, std::shared_ptr<Session>> sessions;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    sessions.swap(sessions_);
  }
  for (auto& [id, s] : sessions) s->close_now();
  for (auto& [id, s] : sessions) {
    if (s->reader.joinable()) s->reader.join();
    if (s->writer.joinable()) s->writer.join();
  }
}

uint64_t Coordinator::epoch() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_.epoch();
}

std::vector<wire::Member> Coordinator::members() const {
  std::lock_guard<std::mutex> lock(state_mu_);
  return state_.members();
}

void Coordinator::set_observer(std::function<void(const CoordinatorEvent&)> observer) {
  std::lock_guard<std::mutex> lock(observer_mu_);
  observer_ = std::move(observer);
}

// The acceptor never ends while the coordinator runs: a connection that fails on its own (reset
// before we configured it, a thread that cannot be created) is dropped, and running out of
// descriptors or memory backs off instead of spinning.
void Coordinator::accept_loop() {
  TimePoint last_warning{};
  while (!stopping_) {
    auto conn = listener_->accept(Deadline::after(std::chrono::milliseconds(500)));
    if (!conn.ok()) {
      if (conn.status().code() == StatusCode::kDeadlineExceeded) continue;
      if (stopping_) return;
      if (now() - last_warning > std::chrono::seconds(10)) {
        LOCO_LOG_WARN("accept failed (backing off): {}", conn.status().to_string());
        last_warning = now();
      }
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(100));
      continue;
    }
    auto session = std::make_shared<Session>();
    session->conn = std::move(conn).value();
    session->conn->set_max_payload(wire::kMaxHandshakePayload);
    session->ticket = gate_.admit(*session->conn);
    {
      std::lock_guard<std::mutex> lock(sessions_mu_);
      if (stopping_) {
        session->ticket.release();
        session->conn->close();
        return;
      }
      session->id = next_conn_++;
      sessions_[session->id] = session;
    }
    try {
      session->writer = std::thread([session] { session->write_loop(); });
      session->reader = std::thread([this, session] { serve(session); });
    } catch (const std::system_error& e) {
      // Out of threads: drop this connection (its session is reaped as finished) and back off.
      if (now() - last_warning > std::chrono::seconds(10)) {
        LOCO_LOG_WARN("cannot start a session thread for {} (backing off): {}",
                      session->conn->remote_address(), e.what());
        last_warning = now();
      }
      session->ticket.release();
      session->close_now();
      if (!session->writer.joinable()) session->conn->close();
      session->finished = true;
      std::unique_lock<std::mutex> lock(stop_mu_);
      stop_cv_.wait_for(lock, std::chrono::milliseconds(100));
    }
  }
}

void Coordinator::tick_loop() {
  std::unique_lock<std::mutex> lock(stop_mu_);
  while (!stopping_) {
    stop_cv_.wait_for(lock, options_.tick_interval);
    if (stopping_) break;
    lock.unlock();
    dispatch(Tick{});
    reap_finished_sessions();
    lock.lock();
  }
}

void Coordinator::reap_finished_sessions() {
  std::vector<std::shared_ptr<Session>> done;
  {
    std::lock_guard<std::mutex> lock(sessions_mu_);
    for (auto it = sessions_.begin(); it != sessions_.end();) {
      if (it->second->finished) {
        done.push_back(it->second);
        it = sessions_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& s : done) {
    s->close_now();
    if (s->reader.joinable()) s->reader.join();
    if (s->writer.joinable()) s->writer.join();
  }
}

Result<wire::Hello> Coordinator::handshake(Session& s) {
  const Deadline deadline = Deadline::after(options_.handshake_timeout);
  auto reject = [&](Status st) -> Status {
    LOCO_LOG_WARN("rejecting {}: {}", s.conn->remote_address(), st.to_string());
    s.enqueue(wire::MsgType::kReject, wire::Reject{st.code(), st.message()}.encode(), true);
    return st;
  };
  auto frame = s.conn->receive(deadline);
  if (!frame.ok()) return reject(frame.status().with_context("handshake"));
  if (frame->type != wire::MsgType::kHello) {
    return reject(DataLoss(std::string("expected HELLO, got ") + wire::msg_type_name(frame->type)));
  }
  auto hello = wire::decode_hello(frame->payload);
  if (!hello.ok()) return reject(hello.status());
  if (!options_.key && !s.conn->remote_is_loopback()) {
    return reject(Unauthenticated(
        "this coordinator has no swarm secret and admits loopback peers only"));
  }
  wire::Challenge challenge;
  challenge.server_nonce = make_nonce();
  challenge.auth_required = options_.key.has_value();
  s.enqueue(wire::MsgType::kChallenge, challenge.encode());
  auto auth_frame = s.conn->receive(deadline);
  if (!auth_frame.ok()) return reject(auth_frame.status().with_context("handshake"));
  if (auth_frame->type != wire::MsgType::kAuth) {
    return reject(DataLoss(std::string("expected AUTH, got ") + wire::msg_type_name(auth_frame->type)));
  }
  auto auth = wire::decode_auth(auth_frame->payload);
  if (!auth.ok()) return reject(auth.status());
  wire::Proof server{};
  if (options_.key) {
    auto expected = client_proof(*options_.key, hello->client_nonce, challenge.server_nonce);
    // Say nothing about why: a wrong secret and a forged proof look the same from outside.
    if (!proof_matches(expected, auth->proof)) return reject(Unauthenticated("authentication failed"));
    server = server_proof(*options_.key, hello->client_nonce, challenge.server_nonce);
    // The peer sends nothing between AUTH and WELCOME, and seals everything after WELCOME: from
    // here on every frame it sends is sealed. Our own sending switches once WELCOME is written.
    s.seal = control_seal_keys(*options_.key, hello->client_nonce, challenge.server_nonce,
                               wire::SealRole::kResponder, options_.encrypt);
    LOCO_RETURN_IF_ERROR(s.conn->seal_receive(s.seal->receive));
  }
  // The Welcome itself is sent by the state machine's SendWelcome action; remember the proof.
  s.server_proof = server;
  s.ticket.release();
  s.conn->set_max_payload(wire::kMaxControlPayload);
  return hello;
}

void Coordinator::serve(std::shared_ptr<Session> session) {
  Session& s = *session;
  auto hello = handshake(s);
  if (!hello.ok()) {
    s.ticket.release();
    s.finished = true;
    return;
  }
  {
    // Hold state_mu_ so that the Welcome is queued before any epoch that includes this peer.
    std::lock_guard<std::mutex> lock(state_mu_);
    s.authenticated = true;
  }
  LOCO_LOG_INFO("peer '{}' from {} authenticated (conn {})", hello->name,
                s.conn->remote_address(), s.id);
  std::string data_host = hello->data_host;
  if (data_host.empty()) {
    // The peer did not say where it listens: use the address it connected from.
    std::string remote = s.conn->remote_address();
    data_host = remote.substr(0, remote.rfind(':'));
    // An IPv6 address comes as "[addr]:port"; members dial the bare address.
    if (data_host.size() >= 2 && data_host.front() == '[' && data_host.back() == ']') {
      data_host = data_host.substr(1, data_host.size() - 2);
    }
    // A dual-stack listener sees IPv4 peers as ::ffff:a.b.c.d; IPv4-only peers dial a.b.c.d.
    if (data_host.rfind("::ffff:", 0) == 0 && data_host.find('.') != std::string::npos) {
      data_host = data_host.substr(7);
    }
  }
  LOCO_LOG_INFO("peer '{}' (conn {}) data plane at {}:{}{}", hello->name, s.id, data_host,
                hello->data_port,
                hello->data_host.empty() ? " (the address it connected from)" : "");
  dispatch(PeerAuthenticated{s.id, hello->name, data_host, hello->data_port});
  Status why;
  for (;;) {
    auto frame = s.conn->receive(Deadline::never());
    if (!frame.ok()) {
      why = frame.status();
      if (frame.status().code() != StatusCode::kUnavailable) {
        s.enqueue(wire::MsgType::kReject,
                  wire::Reject{why.code(), why.message()}.encode(), true);
      }
      break;
    }
    switch (frame->type) {
      case wire::MsgType::kHeartbeat: {
        auto hb = wire::decode_heartbeat(frame->payload);
        if (!hb.ok()) {
          why = hb.status();
          break;
        }
        dispatch(HeartbeatReceived{s.id, hb->seq, hb->epoch});
        continue;
      }
      case wire::MsgType::kOpDone: {
        auto done = wire::decode_op_done(frame->payload);
        if (!done.ok()) {
          why = done.status();
          break;
        }
        dispatch(OpDoneReceived{s.id, done->op});
        continue;
      }
      case wire::MsgType::kLinkFailed: {
        auto lf = wire::decode_link_failed(frame->payload);
        if (!lf.ok()) {
          why = lf.status();
          break;
        }
        LOCO_LOG_INFO("peer conn {} reports failed data links in epoch {}: {}", s.id, lf->epoch,
                      lf->reason);
        if (lf->unreachable_peer != 0) tell_unreachable(s.id, *lf);
        dispatch(LinkFailedReceived{s.id, lf->epoch});
        continue;
      }
      case wire::MsgType::kStateReport:
      case wire::MsgType::kStateDone:
        dispatch_state(s.id, *frame, why);
        if (why.ok()) continue;
        break;
      case wire::MsgType::kLeave: {
        auto leave = wire::decode_leave(frame->payload);
        if (!leave.ok()) {
          why = leave.status();
          break;
        }
        LOCO_LOG_INFO("peer conn {} leaves: {}", s.id, leave->reason);
        dispatch(LeaveRequested{s.id, leave->reason});
        s.finished = true;
        return;
      }
      default:
        why = DataLoss(std::string("unexpected ") + wire::msg_type_name(frame->type) +
                       " on a control connection");
        break;
    }
    // A decode error or an unexpected message: tell the peer and drop it.
    s.enqueue(wire::MsgType::kReject, wire::Reject{why.code(), why.message()}.encode(), true);
    break;
  }
  if (!stopping_) {
    LOCO_LOG_INFO("peer conn {} disconnected: {}", s.id, why.to_string());
    dispatch(Disconnected{s.id, why});
  }
  s.finished = true;
}

void Coordinator::dispatch(const Event& event) {
  std::unique_lock<std::mutex> state_lock(state_mu_);
  const uint64_t before = state_.epoch();
  std::vector<Action> actions = state_.handle(event, now());
  execute(std::move(actions));  // queues only; order per connection is the state machine's
  if (state_.epoch() != before) {
    // Shared-state rounds follow the membership (on_members never evicts).
    std::vector<EvictPeer> none = execute_state(rounds_.on_members(ring_locked()));
    (void)none;
  }
  if (state_.epoch() == before || state_.history().empty()) return;
  CoordinatorEvent changed{state_.history().back(), state_.members()};
  // Take the observer lock before releasing the state lock, so observers see epochs in order.
  std::lock_guard<std::mutex> observer_lock(observer_mu_);
  state_lock.unlock();
  const auto& c = changed.change;
  LOCO_LOG_INFO("epoch {}: {} members (+{} joined, -{} left, -{} died{})", c.epoch,
                changed.members.size(), c.joined.size(), c.left.size(), c.died.size(),
                c.reformed ? ", re-formed after a data-plane failure" : "");
  if (observer_) observer_(changed);
}

void Coordinator::tell_unreachable(ConnId reporter, const wire::LinkFailed& lf) {
  wire::PeerUnreachable pu{lf.epoch, 0, "", lf.address, lf.cause};
  ConnId target = 0;
  std::string target_name;
  {
    std::lock_guard<std::mutex> lock(state_mu_);
    for (const auto& mc : ring_locked()) {
      if (mc.conn == reporter) {
        pu.from_peer = mc.member.peer_id;
        pu.from_name = mc.member.name;
      }
      if (mc.member.peer_id == lf.unreachable_peer) {
        target = mc.conn;
        target_name = mc.member.name;
      }
    }
  }
  LOCO_LOG_WARN("epoch {}: peer {} ('{}') could not reach peer {} ('{}') at {} ({}): that peer "
                "must set --advertise or open the port",
                lf.epoch, pu.from_peer, pu.from_name, lf.unreachable_peer, target_name, lf.address,
                lf.cause);
  if (target != 0 && pu.from_peer != 0) {
    send_to(target, wire::MsgType::kPeerUnreachable, pu.encode());
  }
}

void Coordinator::send_to(ConnId conn, wire::MsgType type, Bytes payload) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  auto it = sessions_.find(conn);
  if (it != sessions_.end()) it->second->enqueue(type, std::move(payload));
}

void Coordinator::execute(std::vector<Action> actions) {
  std::lock_guard<std::mutex> lock(sessions_mu_);
  auto find = [&](ConnId id) -> Session* {
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
  };
  for (Action& a : actions) {
    if (auto* w = std::get_if<SendWelcome>(&a)) {
      if (Session* s = find(w->conn)) {
        wire::Welcome msg;
        msg.peer_id = w->peer_id;
        msg.server_proof = s->server_proof;
        msg.heartbeat_period_ms = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.config.heartbeat_period)
                .count());
        msg.heartbeat_timeout_ms = static_cast<uint32_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.config.heartbeat_timeout)
                .count());
        s->enqueue(wire::MsgType::kWelcome, msg.encode());
      }
    } else if (auto* h = std::get_if<SendHeartbeatAck>(&a)) {
      if (Session* s = find(h->conn)) {
        s->enqueue(wire::MsgType::kHeartbeatAck, wire::HeartbeatAck{h->seq, h->epoch}.encode());
      }
    } else if (auto* e = std::get_if<SendEpoch>(&a)) {
      if (Session* s = find(e->conn)) s->enqueue(wire::MsgType::kEpoch, {}, false, e->encoded);
    } else if (auto* c = std::get_if<SendOpCommit>(&a)) {
      if (Session* s = find(c->conn)) s->enqueue(wire::MsgType::kOpCommit, wire::OpCommit{c->op}.encode());
    } else if (auto* x = std::get_if<CloseConnection>(&a)) {
      if (Session* s = find(x->conn)) {
        if (x->reason.ok()) {
          s->enqueue(wire::MsgType::kReject, {}, true);  // flush, then close
        } else {
          s->enqueue(wire::MsgType::kReject,
                     wire::Reject{x->reason.code(), x->reason.message()}.encode(), true);
        }
      }
    }
  }
}

}  // namespace loco::membership
