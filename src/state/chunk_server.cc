// chunk_server.cc: serving shared-state chunks to authenticated peers (see chunk_server.h).
#include "state/chunk_server.h"

#include <system_error>

#include "common/log.h"
#include "common/rng.h"

namespace loco::state {
namespace {
constexpr Duration kAcceptPoll = std::chrono::milliseconds(100);
}  // namespace

Result<std::unique_ptr<ChunkServer>> ChunkServer::listen(ChunkServerOptions options) {
  LOCO_ASSIGN_OR_RETURN(
      std::unique_ptr<transport::Listener> listener,
      transport::listen_tcp_range(options.listen_host, options.listen_port,
                                 options.listen_port_last, options.tcp));
  return std::unique_ptr<ChunkServer>(new ChunkServer(std::move(options), std::move(listener)));
}

ChunkServer::ChunkServer(ChunkServerOptions options, std::unique_ptr<transport::Listener> listener)
    : options_(std::move(options)), listener_(std::move(listener)), port_(listener_->port()) {
  acceptor_ = std::thread([this] { accept_loop(); });
}

ChunkServer::~ChunkServer() { shutdown(); }

void ChunkServer::open(const SharedState* state, std::vector<uint64_t> hashes,
                       uint64_t my_peer_id) {
  std::unique_lock<std::shared_mutex> lock(serving_mu_);
  state_ = state;
  hashes_ = std::move(hashes);
  my_peer_id_ = my_peer_id;
}

void ChunkServer::close() {
  std::unique_lock<std::shared_mutex> lock(serving_mu_);
  state_ = nullptr;
  hashes_.clear();
}

void ChunkServer::shutdown() {
  {
    std::lock_guard<std::mutex> lock(clients_mu_);
    if (shut_down_) return;
    shut_down_ = true;
    for (Client& c : clients_) c.conn->close();
  }
  listener_->close();
  if (acceptor_.joinable()) acceptor_.join();
  std::lock_guard<std::mutex> lock(clients_mu_);
  for (Client& c : clients_) {
    c.conn->close();
    if (c.thread.joinable()) c.thread.join();
  }
  clients_.clear();
}

void ChunkServer::accept_loop() {
  for (;;) {
    auto conn = listener_->accept(Deadline::after(kAcceptPoll));
    std::lock_guard<std::mutex> lock(clients_mu_);
    // Reap finished clients.
    for (auto it = clients_.begin(); it != clients_.end();) {
      if (it->finished) {
        if (it->thread.joinable()) it->thread.join();
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
    if (shut_down_) {
      if (conn.ok()) (*conn)->close();
      return;
    }
    if (!conn.ok()) {
      // The acceptor never ends while the server runs: a closed listener means shutdown, and
      // running out of descriptors backs off instead of spinning.
      if (conn.status().code() == StatusCode::kDeadlineExceeded) continue;
      if (conn.status().code() == StatusCode::kResourceExhausted) {
        LOCO_LOG_DEBUG("state server: accept failed (backing off): {}", conn.status().to_string());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
      continue;
    }
    if (clients_.size() >= kMaxConnections) {
      (*conn)->close();
      continue;
    }
    Client& c = clients_.emplace_back();
    c.conn = std::move(*conn);
    c.conn->set_max_payload(wire::kMaxHandshakePayload);
    c.ticket = gate_.admit(*c.conn);
    try {
      c.thread = std::thread([this, &c] {
        serve(c);
        c.ticket.release();
        c.conn->close();
        c.finished = true;
      });
    } catch (const std::system_error& e) {
      LOCO_LOG_WARN("state server: cannot start a thread for {}: {}", c.conn->remote_address(),
                    e.what());
      c.ticket.release();
      c.conn->close();
      c.finished = true;
    }
  }
}

Status ChunkServer::handshake(transport::Connection& conn) {
  const Deadline deadline = Deadline::after(options_.handshake_timeout);
  LOCO_ASSIGN_OR_RETURN(wire::Frame f, conn.receive(deadline));
  if (f.type != wire::MsgType::kStateHello) return DataLoss("expected STATE_HELLO");
  LOCO_ASSIGN_OR_RETURN(StateHello hello, decode_state_hello(f.payload));
  StateAccept accept;
  if (options_.key && !state_proofs_equal(state_hello_proof(options_.key, hello), hello.proof)) {
    accept.code = StatusCode::kUnauthenticated;
    accept.reason = "bad swarm key proof";
  } else if (hello.to_peer != my_peer_id_) {
    accept.code = StatusCode::kFailedPrecondition;
    accept.reason = "this is peer " + std::to_string(my_peer_id_.load()) + ", not peer " +
                    std::to_string(hello.to_peer);
  }
  secure_random(accept.nonce);
  accept.proof = state_accept_proof(options_.key, hello, accept);
  LOCO_RETURN_IF_ERROR(conn.send(wire::MsgType::kStateAccept, accept.encode(), deadline));
  if (accept.code != StatusCode::kOk) return Status(accept.code, accept.reason);
  if (options_.key) {
    // The receiver seals once it has checked STATE_ACCEPT; it sends nothing before that.
    return conn.start_sealing(chunk_seal_keys(*options_.key, hello, accept,
                                              wire::SealRole::kResponder, options_.encrypt));
  }
  return OkStatus();
}

void ChunkServer::serve(Client& client) {
  transport::Connection& conn = *client.conn;
  Status s = handshake(conn);
  client.ticket.release();
  if (!s.ok()) {
    LOCO_LOG_DEBUG("state server: refused {}: {}", conn.remote_address(), s.to_string());
    return;
  }
  conn.set_max_payload(wire::kMaxControlPayload);
  for (;;) {
    auto f = conn.receive(Deadline::after(options_.idle_timeout));
    if (!f.ok()) return;  // the receiver finished or went away
    if (f->type != wire::MsgType::kChunkRequest) return;
    auto req = decode_chunk_request(f->payload);
    if (!req.ok()) return;
    if (!answer(conn, *req).ok()) return;
  }
}

Status ChunkServer::answer(transport::Connection& conn, const ChunkRequest& req) {
  const Deadline deadline = Deadline::after(options_.send_timeout);
  std::shared_lock<std::shared_mutex> lock(serving_mu_);
  ChunkHeader h;
  h.chunk = req.chunk;
  h.hash = req.hash;
  if (state_ == nullptr || req.chunk >= hashes_.size() || hashes_[req.chunk] != req.hash) {
    h.code = StatusCode::kFailedPrecondition;
    return conn.send(wire::MsgType::kChunkHeader, h.encode(), deadline);
  }
  MutableByteSpan bytes = state_->chunk_bytes(req.chunk);
  if (const double rate = rate_; rate > 0) {
    // One uplink shared by every connection: reserve this chunk's slot, then wait for it.
    TimePoint at;
    {
      std::lock_guard<std::mutex> pace(pace_mu_);
      at = std::max(now(), next_send_);
      next_send_ = at + std::chrono::duration_cast<Duration>(
                            std::chrono::duration<double>(static_cast<double>(bytes.size()) / rate));
    }
    std::this_thread::sleep_until(at);
  }
  h.length = static_cast<uint32_t>(bytes.size());
  LOCO_RETURN_IF_ERROR(conn.send(wire::MsgType::kChunkHeader, h.encode(), deadline));
  Bytes corrupted;
  ByteSpan payload = bytes;
  if (corrupt_) {
    corrupted.assign(bytes.begin(), bytes.end());
    if (!corrupted.empty()) corrupted[corrupted.size() / 2] ^= std::byte{0x5A};
    payload = corrupted;
  }
  ByteSpan parts[1] = {payload};
  Status st = conn.send_parts(wire::MsgType::kChunkBytes, parts, deadline);
  if (st.ok()) ++served_;
  return st;
}

}  // namespace loco::state
