// messages.cc: payload codecs of the control-plane messages (see messages.h, docs/protocol.md).
#include "wire/messages.h"

#include <string>

namespace loco::wire {
namespace {

Status malformed(const char* what) { return DataLoss(std::string("malformed ") + what + " payload"); }

void put_array(ByteWriter& w, const std::array<std::byte, 32>& a) { w.put_bytes(a); }

}  // namespace

Bytes Hello::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint8_t>(static_cast<uint8_t>(role));
  put_array(w, client_nonce);
  w.put_string(name);
  w.put_string(data_host);
  w.put<uint16_t>(data_port);
  return out;
}

Result<Hello> decode_hello(ByteSpan payload) {
  ByteReader r(payload);
  Hello m;
  uint8_t role = 0;
  if (!r.get(role) || !r.get_bytes(m.client_nonce) || !r.get_string(m.name, kMaxNameLen) ||
      !r.get_string(m.data_host, kMaxNameLen) || !r.get(m.data_port) || !r.done()) {
    return malformed("HELLO");
  }
  if (role != static_cast<uint8_t>(Role::kPeer)) return DataLoss("HELLO with unknown role");
  m.role = static_cast<Role>(role);
  return m;
}

Bytes Challenge::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_array(w, server_nonce);
  w.put<uint8_t>(auth_required ? 1 : 0);
  return out;
}

Result<Challenge> decode_challenge(ByteSpan payload) {
  ByteReader r(payload);
  Challenge m;
  uint8_t auth = 0;
  if (!r.get_bytes(m.server_nonce) || !r.get(auth) || !r.done() || auth > 1) {
    return malformed("CHALLENGE");
  }
  m.auth_required = auth == 1;
  return m;
}

Bytes Auth::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_array(w, proof);
  return out;
}

Result<Auth> decode_auth(ByteSpan payload) {
  ByteReader r(payload);
  Auth m;
  if (!r.get_bytes(m.proof) || !r.done()) return malformed("AUTH");
  return m;
}

Bytes Welcome::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(peer_id);
  put_array(w, server_proof);
  w.put<uint32_t>(heartbeat_period_ms);
  w.put<uint32_t>(heartbeat_timeout_ms);
  return out;
}

Result<Welcome> decode_welcome(ByteSpan payload) {
  ByteReader r(payload);
  Welcome m;
  if (!r.get(m.peer_id) || !r.get_bytes(m.server_proof) || !r.get(m.heartbeat_period_ms) ||
      !r.get(m.heartbeat_timeout_ms) || !r.done()) {
    return malformed("WELCOME");
  }
  return m;
}

Bytes Reject::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<int32_t>(static_cast<int32_t>(code));
  w.put_string(std::string_view(reason).substr(0, kMaxReasonLen));
  return out;
}

Result<Reject> decode_reject(ByteSpan payload) {
  ByteReader r(payload);
  Reject m;
  int32_t code = 0;
  if (!r.get(code) || !r.get_string(m.reason, kMaxReasonLen) || !r.done()) {
    return malformed("REJECT");
  }
  if (code <= 0 || code > static_cast<int32_t>(StatusCode::kInternal)) {
    return DataLoss("REJECT with unknown status code " + std::to_string(code));
  }
  m.code = static_cast<StatusCode>(code);
  return m;
}

Bytes Heartbeat::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(seq);
  w.put<uint64_t>(epoch);
  return out;
}

Result<Heartbeat> decode_heartbeat(ByteSpan payload) {
  ByteReader r(payload);
  Heartbeat m;
  if (!r.get(m.seq) || !r.get(m.epoch) || !r.done()) return malformed("HEARTBEAT");
  return m;
}

Bytes HeartbeatAck::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(seq);
  w.put<uint64_t>(epoch);
  return out;
}

Result<HeartbeatAck> decode_heartbeat_ack(ByteSpan payload) {
  ByteReader r(payload);
  HeartbeatAck m;
  if (!r.get(m.seq) || !r.get(m.epoch) || !r.done()) return malformed("HEARTBEAT_ACK");
  return m;
}

Bytes Epoch::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(epoch);
  w.put<uint32_t>(static_cast<uint32_t>(members.size()));
  for (const Member& m : members) {
    w.put<uint64_t>(m.peer_id);
    w.put_string(m.name);
    w.put_string(m.data_host);
    w.put<uint16_t>(m.data_port);
  }
  return out;
}

Result<Epoch> decode_epoch(ByteSpan payload) {
  ByteReader r(payload);
  Epoch m;
  uint32_t count = 0;
  if (!r.get(m.epoch) || !r.get(count)) return malformed("EPOCH");
  // Each member takes at least 8 + 4 + 4 + 2 bytes: bound the count by the bytes left before
  // reserving, so a forged count cannot make us allocate.
  if (count > kMaxMembers || count > r.remaining() / 18) return malformed("EPOCH");
  m.members.reserve(count);
  for (uint32_t i = 0; i < count; ++i) {
    Member mem;
    if (!r.get(mem.peer_id) || !r.get_string(mem.name, kMaxNameLen) ||
        !r.get_string(mem.data_host, kMaxNameLen) || !r.get(mem.data_port)) {
      return malformed("EPOCH");
    }
    m.members.push_back(std::move(mem));
  }
  if (!r.done()) return malformed("EPOCH");
  return m;
}

Bytes Leave::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put_string(reason);
  return out;
}

Result<Leave> decode_leave(ByteSpan payload) {
  ByteReader r(payload);
  Leave m;
  if (!r.get_string(m.reason, kMaxReasonLen) || !r.done()) return malformed("LEAVE");
  return m;
}

namespace {

void put_op(ByteWriter& w, const OpId& op) {
  w.put<uint64_t>(op.epoch);
  w.put<uint64_t>(op.tag);
  w.put<uint64_t>(op.seq);
}

bool get_op(ByteReader& r, OpId& op) { return r.get(op.epoch) && r.get(op.tag) && r.get(op.seq); }

}  // namespace

Bytes OpDone::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_op(w, op);
  return out;
}

Result<OpDone> decode_op_done(ByteSpan payload) {
  ByteReader r(payload);
  OpDone m;
  if (!get_op(r, m.op) || !r.done()) return malformed("OP_DONE");
  return m;
}

Bytes OpCommit::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_op(w, op);
  return out;
}

Bytes LinkFailed::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(epoch);
  w.put_string(std::string_view(reason).substr(0, kMaxReasonLen));
  if (unreachable_peer != 0) {
    w.put<uint64_t>(unreachable_peer);
    w.put_string(std::string_view(address).substr(0, kMaxNameLen));
    w.put_string(std::string_view(cause).substr(0, kMaxReasonLen));
  }
  return out;
}

Result<LinkFailed> decode_link_failed(ByteSpan payload) {
  ByteReader r(payload);
  LinkFailed m;
  if (!r.get(m.epoch) || !r.get_string(m.reason, kMaxReasonLen)) return malformed("LINK_FAILED");
  if (r.done()) return m;
  if (!r.get(m.unreachable_peer) || m.unreachable_peer == 0 ||
      !r.get_string(m.address, kMaxNameLen) || !r.get_string(m.cause, kMaxReasonLen) ||
      !r.done()) {
    return malformed("LINK_FAILED");
  }
  return m;
}

Bytes PeerUnreachable::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint64_t>(epoch);
  w.put<uint64_t>(from_peer);
  w.put_string(std::string_view(from_name).substr(0, kMaxNameLen));
  w.put_string(std::string_view(address).substr(0, kMaxNameLen));
  w.put_string(std::string_view(cause).substr(0, kMaxReasonLen));
  return out;
}

Result<PeerUnreachable> decode_peer_unreachable(ByteSpan payload) {
  ByteReader r(payload);
  PeerUnreachable m;
  if (!r.get(m.epoch) || !r.get(m.from_peer) || !r.get_string(m.from_name, kMaxNameLen) ||
      !r.get_string(m.address, kMaxNameLen) || !r.get_string(m.cause, kMaxReasonLen) ||
      !r.done()) {
    return malformed("PEER_UNREACHABLE");
  }
  return m;
}

Result<OpCommit> decode_op_commit(ByteSpan payload) {
  ByteReader r(payload);
  OpCommit m;
  if (!get_op(r, m.op) || !r.done()) return malformed("OP_COMMIT");
  return m;
}

}  // namespace loco::wire
