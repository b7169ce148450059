// frame.h: the frame every loco connection carries (control and data plane alike).
//
//   offset size field
//        0    4 magic     "LOCO" (0x4C 0x4F 0x43 0x4F)
//        4    2 version   kProtocolVersion, little-endian
//        6    2 type      MsgType
//        8    4 flags     0, or kFlagHeaderChecksumOnly on DATA frames; on a sealed connection
//                         exactly one seal flag (bits 1-3, sealed_frame.h: checksum 0, a 16-byte
//                         tag follows the payload)
//       12    4 length    payload bytes that follow the header
//       16    8 checksum  XXH3-64 of header bytes [0,16) followed by the payload (only of the
//                         header bytes when kFlagHeaderChecksumOnly is set)
//
// Encoding and decoding are pure functions over byte spans. Decoding validates in an order that lets a
// reader reject a bad frame from the 24 header bytes alone, before it allocates the payload:
// magic (DATA_LOSS), version (PROTOCOL_MISMATCH), type and flags (DATA_LOSS), length
// (RESOURCE_EXHAUSTED), then the checksum once the payload is read (DATA_LOSS).
// This file knows nothing about sockets or about what a payload means (see messages.h).
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/bytes.h"
#include "common/status.h"

namespace loco::wire {

inline constexpr uint32_t kMagic = 0x4F434F4Cu;  // "LOCO" read as little-endian u32
inline constexpr uint16_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderSize = 24;
// Largest control-plane payload a coordinator or peer accepts on a control connection.
inline constexpr uint32_t kMaxControlPayload = 1u << 20;
// Largest payload accepted before a connection has authenticated (HELLO, AUTH, PEER_HELLO,
// STATE_HELLO are all far smaller), so a stranger's header cannot make a listener allocate more.
inline constexpr uint32_t kMaxHandshakePayload = 4096;
// Largest payload any loco connection accepts (data-plane chunks).
inline constexpr uint32_t kMaxDataPayload = 256u << 20;
// Flag bit 0, valid on DATA frames only: the checksum covers the 16 header bytes, not the payload
// (the data plane may rely on TCP's own checksum for tensor bytes, saving a hash pass per byte).
inline constexpr uint32_t kFlagHeaderChecksumOnly = 1u << 0;
// Seal flags, bits 1-3 (sealed_frame.h): exactly one is set on a sealed frame, with no other bit.
inline constexpr uint32_t kFlagSealedAuthOnly = 1u << 1;
inline constexpr uint32_t kFlagSealedXChaCha = 1u << 2;
inline constexpr uint32_t kFlagSealedAes = 1u << 3;
inline constexpr uint32_t kSealFlagMask = kFlagSealedAuthOnly | kFlagSealedXChaCha | kFlagSealedAes;

// What a connection expects at this point of its life: plain frames (checksummed) before and
// without sealing, sealed frames (a seal flag, a tag after the payload) once it is sealed.
enum class Framing : uint8_t { kPlain, kSealed };

enum class MsgType : uint16_t {
  // Control plane: peer <-> coordinator (docs/protocol.md).
  kHello = 1,         // peer -> coordinator: first frame of the join handshake
  kChallenge = 2,     // coordinator -> peer: server nonce
  kAuth = 3,          // peer -> coordinator: proof of the swarm secret
  kWelcome = 4,       // coordinator -> peer: admitted as a pending member; server proof
  kReject = 5,        // either direction: a status and a reason, then the sender closes
  kHeartbeat = 6,     // peer -> coordinator
  kHeartbeatAck = 7,  // coordinator -> peer
  kEpoch = 8,         // coordinator -> peer: a new membership epoch and its ring order
  kLeave = 9,         // peer -> coordinator: graceful leave
  kOpDone = 10,       // peer -> coordinator: my part of collective (epoch, tag, seq) is complete
  kOpCommit = 11,     // coordinator -> peer: every member completed (epoch, tag, seq): commit it
  kLinkFailed = 12,   // peer -> coordinator: this epoch's data-plane links failed; re-form
  // Shared-state sync, control part (issue "shared state", wire/state_messages.h).
  kStateReport = 13,    // peer -> coordinator: my revision, layout and chunk hashes
  kStatePlan = 14,      // coordinator -> peer: which chunks to fetch from whom, or a status
  kStateDone = 15,      // peer -> coordinator: my fetches finished (status, bad donors)
  kStateComplete = 16,  // coordinator -> peer: every participant of the round is done
  kPeerUnreachable = 17,  // coordinator -> peer: a ring neighbour could not reach your data plane
  // Data plane: peer <-> peer (issue "collectives").
  kPeerHello = 32,  // dialing peer -> listening peer: who I am, which epoch and stripe
  kPeerAccept = 33, // listening peer -> dialing peer
  kData = 34,       // a chunk of a tagged collective operation
  // Shared-state chunk transfer: receiver <-> donor (state/chunk_messages.h).
  kStateHello = 40,    // receiver -> donor: who I am (swarm-key proof)
  kStateAccept = 41,   // donor -> receiver
  kChunkRequest = 42,  // receiver -> donor: send me chunk i with hash h
  kChunkHeader = 43,   // donor -> receiver: status and length of the chunk that follows
  kChunkBytes = 44,    // donor -> receiver: the chunk's raw bytes
};

bool is_known_type(uint16_t type);
const char* msg_type_name(MsgType type);

struct FrameHeader {
  uint16_t version = kProtocolVersion;
  MsgType type = MsgType::kHello;
  uint32_t flags = 0;
  uint32_t length = 0;
  uint64_t checksum = 0;
};

struct Frame {
  MsgType type = MsgType::kHello;
  uint32_t flags = 0;
  Bytes payload;
};

// Writes the 24 header bytes for `payload` into `out`.
void encode_header(MsgType type, ByteSpan payload, std::byte (&out)[kFrameHeaderSize],
                   uint32_t flags = 0);
// Header followed by payload, as one buffer.
Bytes encode_frame(MsgType type, ByteSpan payload, uint32_t flags = 0);

// Validates the first kFrameHeaderSize bytes of `header` (fewer bytes: DATA_LOSS) without the
// payload; the checksum is not checked here. `max_payload` bounds `length`. kPlain: flags 0, or
// kFlagHeaderChecksumOnly on DATA (a seal flag is DATA_LOSS); kSealed: exactly one seal flag, and
// a length past `max_payload` is DATA_LOSS rather than RESOURCE_EXHAUSTED (no honest sealed peer
// sends one, and the length cannot be authenticated before the frame is read).
Result<FrameHeader> decode_header(ByteSpan header, uint32_t max_payload,
                                  Framing framing = Framing::kPlain);
// Checks the checksum of a decoded header against its raw bytes and the payload.
Status verify_payload(const FrameHeader& header, ByteSpan header_bytes, ByteSpan payload);
// Decodes one whole frame: `bytes` must be exactly header + payload (trailing bytes: DATA_LOSS).
Result<Frame> decode_frame(ByteSpan bytes, uint32_t max_payload);

}  // namespace loco::wire
