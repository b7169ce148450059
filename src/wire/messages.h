// messages.h: the control-plane messages (peer <-> coordinator) and their payload codecs.
// Each message is a plain struct with encode() -> payload bytes and a decode_*() that treats its input
// as untrusted: any short, long or out-of-range payload is DATA_LOSS, never a crash or an unbounded
// allocation. Framing (header, checksum) is frame.h's job; the order and meaning of messages is
// documented in docs/protocol.md. Data-plane messages live with the collectives.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "common/bytes.h"
#include "common/status.h"
#include "wire/frame.h"

namespace loco::wire {

inline constexpr size_t kNonceSize = 32;
inline constexpr size_t kProofSize = 32;
inline constexpr size_t kMaxNameLen = 256;     // peer names, host names
inline constexpr size_t kMaxReasonLen = 4096;  // human-readable reasons
inline constexpr uint32_t kMaxMembers = 65536;

using Nonce = std::array<std::byte, kNonceSize>;
using Proof = std::array<std::byte, kProofSize>;

enum class Role : uint8_t { kPeer = 1 };

// peer -> coordinator, first frame on a control connection.
struct Hello {
  Role role = Role::kPeer;
  Nonce client_nonce{};
  std::string name;       // a human label ("host-a/gpu0"); not unique, not trusted
  std::string data_host;  // where other peers reach this peer's data-plane listener
  uint16_t data_port = 0;
  Bytes encode() const;
};
Result<Hello> decode_hello(ByteSpan payload);

// coordinator -> peer, reply to Hello.
struct Challenge {
  Nonce server_nonce{};
  bool auth_required = true;  // false: no secret configured (loopback-only swarm); send a zero proof
  Bytes encode() const;
};
Result<Challenge> decode_challenge(ByteSpan payload);

// peer -> coordinator: proof of the swarm secret over both nonces (see membership/auth.h).
struct Auth {
  Proof proof{};
  Bytes encode() const;
};
Result<Auth> decode_auth(ByteSpan payload);

// coordinator -> peer: the peer is admitted and will appear in the next epoch.
struct Welcome {
  uint64_t peer_id = 0;
  Proof server_proof{};  // the coordinator's proof of the secret (all zero when no secret)
  uint32_t heartbeat_period_ms = 0;
  uint32_t heartbeat_timeout_ms = 0;
  Bytes encode() const;
};
Result<Welcome> decode_welcome(ByteSpan payload);

// either direction: the sender refuses and closes the connection. encode() truncates the reason to
// kMaxReasonLen so a long message never turns a REJECT into DATA_LOSS.
struct Reject {
  StatusCode code = StatusCode::kInternal;
  std::string reason;
  Bytes encode() const;
};
Result<Reject> decode_reject(ByteSpan payload);

// peer -> coordinator, every heartbeat period.
struct Heartbeat {
  uint64_t seq = 0;
  uint64_t epoch = 0;  // the newest epoch this peer has seen
  Bytes encode() const;
};
Result<Heartbeat> decode_heartbeat(ByteSpan payload);

// coordinator -> peer, answer to each Heartbeat (lets the peer detect a dead coordinator).
struct HeartbeatAck {
  uint64_t seq = 0;
  uint64_t epoch = 0;  // the coordinator's current epoch
  Bytes encode() const;
};
Result<HeartbeatAck> decode_heartbeat_ack(ByteSpan payload);

struct Member {
  uint64_t peer_id = 0;
  std::string name;
  std::string data_host;
  uint16_t data_port = 0;
  friend bool operator==(const Member&, const Member&) = default;
};

// coordinator -> every member: a new epoch. `members` is the ring order: rank i sends to rank i+1.
struct Epoch {
  uint64_t epoch = 0;
  std::vector<Member> members;
  Bytes encode() const;
};
Result<Epoch> decode_epoch(ByteSpan payload);

// peer -> coordinator: graceful leave; the coordinator closes the connection at once and sends the
// remaining members a new epoch.
struct Leave {
  std::string reason;
  Bytes encode() const;
};
Result<Leave> decode_leave(ByteSpan payload);

// Identifies one collective operation: its epoch, the caller's tag and the per-tag sequence number.
struct OpId {
  uint64_t epoch = 0;
  uint64_t tag = 0;
  uint64_t seq = 0;
  friend auto operator<=>(const OpId&, const OpId&) = default;
};

// peer -> coordinator: this peer finished its part of the operation and holds the result staged.
struct OpDone {
  OpId op;
  Bytes encode() const;
};
Result<OpDone> decode_op_done(ByteSpan payload);

// coordinator -> every member: all members of op.epoch reported OpDone: commit the result. A peer
// that sees a new epoch before this message aborts the operation instead (so either every survivor
// commits or none does).
struct OpCommit {
  OpId op;
  Bytes encode() const;
};
Result<OpCommit> decode_op_commit(ByteSpan payload);

// peer -> coordinator: the data-plane links of `epoch` failed (a broken connection or an operation
// deadline) although the membership did not change. The coordinator re-forms the ring in a new
// epoch if no other change does so first (see coordinator_state.h).
// When the failure is that the next peer's data plane could not be reached at all, the optional
// trailing fields say whom, at which address, and why (a payload that ends after `reason` is a
// report without them; unreachable_peer 0 means none).
struct LinkFailed {
  uint64_t epoch = 0;
  std::string reason;
  uint64_t unreachable_peer = 0;
  std::string address;  // "host:port" that was dialed
  std::string cause;    // "connection refused", "timed out", or the dial error
  Bytes encode() const;
};
Result<LinkFailed> decode_link_failed(ByteSpan payload);

// coordinator -> the unreachable peer of a LINK_FAILED report: `from_peer` (named `from_name`)
// could not reach this peer's data plane at `address` (`cause`). The peer logs it as an error and
// keeps it for its user (PeerClient::unreachable_notice); the membership is unchanged.
struct PeerUnreachable {
  uint64_t epoch = 0;
  uint64_t from_peer = 0;
  std::string from_name;
  std::string address;
  std::string cause;
  Bytes encode() const;
};
Result<PeerUnreachable> decode_peer_unreachable(ByteSpan payload);

}  // namespace loco::wire
