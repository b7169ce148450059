// chunk_messages.h: the peer-to-peer messages of a shared-state chunk transfer (frame types
// STATE_HELLO .. CHUNK_BYTES in wire/frame.h) and their codecs. Decoders treat input as untrusted:
// short, long or out-of-range payloads are DATA_LOSS, never a crash or an unbounded allocation.
//
//   receiver -> donor  STATE_HELLO   {from, to, nonce, proof}
//   donor -> receiver  STATE_ACCEPT  {code, reason, proof}
//   receiver -> donor  CHUNK_REQUEST {chunk, hash}                  (pipelined, answered in order)
//   donor -> receiver  CHUNK_HEADER  {chunk, code, length, hash}, then if code is OK
//                      CHUNK_BYTES   raw bytes (the frame checksum catches damage in transit; the
//                                    receiver also checks the chunk's XXH3 against the majority's
//                                    hash, which catches a donor serving the wrong bytes)
// With a swarm key the proofs are HMAC-SHA-512/256 (libsodium) under that key, as on the
// collectives' links but with their own labels: the hello's over its fields, the accept's over
// the hello's nonce and its own fields. Without a key they are zero and not checked.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>

#include "common/bytes.h"
#include "common/status.h"
#include "wire/messages.h"
#include "wire/sealed_frame.h"

namespace loco::state {

using StateKey = std::array<std::byte, 32>;

struct StateHello {
  uint64_t from_peer = 0;
  uint64_t to_peer = 0;
  wire::Nonce nonce{};
  wire::Proof proof{};
  Bytes encode() const;
};
Result<StateHello> decode_state_hello(ByteSpan payload);

struct StateAccept {
  StatusCode code = StatusCode::kOk;
  std::string reason;
  wire::Nonce nonce{};  // the donor's fresh nonce: seal keys (and the proof) cover it
  wire::Proof proof{};
  Bytes encode() const;
};
Result<StateAccept> decode_state_accept(ByteSpan payload);

struct ChunkRequest {
  uint32_t chunk = 0;
  uint64_t hash = 0;
  Bytes encode() const;
};
Result<ChunkRequest> decode_chunk_request(ByteSpan payload);

struct ChunkHeader {
  uint32_t chunk = 0;
  StatusCode code = StatusCode::kOk;  // not OK: no CHUNK_BYTES follows (e.g. not held)
  uint32_t length = 0;
  uint64_t hash = 0;
  Bytes encode() const;
};
Result<ChunkHeader> decode_chunk_header(ByteSpan payload);

wire::Proof state_hello_proof(const std::optional<StateKey>& key, const StateHello& hello);
wire::Proof state_accept_proof(const std::optional<StateKey>& key, const StateHello& hello,
                               const StateAccept& accept);
bool state_proofs_equal(const wire::Proof& a, const wire::Proof& b);
// Seal keys of a chunk connection (docs/protocol.md 2.2): label loco/v1/seal/chunk over the hello's
// payload and the accept's nonce. The receiver (dialer) is the initiator.
wire::SealKeys chunk_seal_keys(const StateKey& key, const StateHello& hello,
                               const StateAccept& accept, wire::SealRole role, bool encrypt);

}  // namespace loco::state
