// data_messages.h: the data-plane messages between peers (frame types PEER_HELLO, PEER_ACCEPT and
// DATA in wire/frame.h) and their codecs. Decoders treat input as untrusted: a short, long or
// out-of-range payload is DATA_LOSS, never a crash or an unbounded allocation.
//
// Link set-up (one TCP connection per stripe, dialed by the ring predecessor):
//   dialer   -> PEER_HELLO  {epoch, from, to, stripe, stripes, nonce, proof}
//   listener -> PEER_ACCEPT {code, epoch, reason, proof}
// With a swarm key both proofs are HMAC-SHA-512/256 (libsodium) under that key: the hello's over
// its own fields (a replay is useless: each (epoch, from, stripe) slot is filled once), the
// accept's over the hello's fresh nonce and the accept's fields (so the dialer knows the listener
// holds the key). Without a key the proofs are zero and not checked.
//
// Tensor bytes: each piece is two frames on one stripe, DATA {DataHeader} then DATA {raw bytes}, so
// the receiver learns where the bytes go before it reads them and receives them in place.
// Not here: sockets, link state (links.h), what a step means (ring_plan.h).
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "wire/messages.h"
#include "wire/sealed_frame.h"

namespace loco::collectives {

using LinkKey = std::array<std::byte, 32>;

struct PeerHello {
  uint64_t epoch = 0;
  uint64_t from_peer = 0;  // the dialer: ring predecessor of the listener
  uint64_t to_peer = 0;    // the listener
  uint32_t stripe = 0;
  uint32_t stripes = 0;  // both sides must agree
  wire::Nonce nonce{};
  wire::Proof proof{};
  Bytes encode() const;
};
Result<PeerHello> decode_peer_hello(ByteSpan payload);

struct PeerAccept {
  StatusCode code = StatusCode::kOk;  // OK: the link is up; otherwise the listener closes
  uint64_t epoch = 0;                 // the listener's current epoch
  std::string reason;
  wire::Nonce nonce{};                // the listener's fresh nonce: seal keys (and the proof) cover it
  wire::Proof proof{};
  Bytes encode() const;
};
Result<PeerAccept> decode_peer_accept(ByteSpan payload);

// Proofs (zero without a key); constant-time comparison.
wire::Proof hello_proof(const std::optional<LinkKey>& key, const PeerHello& hello);
wire::Proof accept_proof(const std::optional<LinkKey>& key, const PeerHello& hello,
                         const PeerAccept& accept);
bool proofs_equal(const wire::Proof& a, const wire::Proof& b);
// Seal keys of a link (docs/protocol.md 2.2): label loco/v1/seal/link over the hello's payload and
// the accept's nonce. The dialer is the initiator; `encrypt` false: integrity only.
wire::SealKeys link_seal_keys(const LinkKey& key, const PeerHello& hello, const PeerAccept& accept,
                              wire::SealRole role, bool encrypt);

// Which algorithm a DATA piece belongs to (peers that disagree fail the operation).
enum class OpKind : uint8_t {
  kAllReduce = 1,
  kReduceScatter = 2,
  kAllGather = 3,
  kBroadcast = 4,
};

// Announces the next frame on the stripe: `length` raw bytes for step `step` of operation
// (epoch, tag, seq), to be placed at byte `offset` of the operation's buffer. `fingerprint` hashes
// the operation's parameters (kind, type, op, count, root, world) so mismatched calls are caught.
struct DataHeader {
  uint64_t epoch = 0;
  uint64_t tag = 0;
  uint64_t seq = 0;
  uint64_t fingerprint = 0;
  uint64_t offset = 0;
  uint32_t length = 0;
  uint16_t step = 0;
  OpKind kind = OpKind::kAllReduce;
  uint8_t reserved = 0;
};
inline constexpr size_t kDataHeaderSize = 48;
void encode_data_header(const DataHeader& h, std::byte (&out)[kDataHeaderSize]);
Result<DataHeader> decode_data_header(ByteSpan payload);

}  // namespace loco::collectives
