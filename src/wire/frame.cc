// frame.cc: frame header encode/decode and checksum (see frame.h for the layout).
#include "wire/frame.h"

#define XXH_STATIC_LINKING_ONLY
#include <xxhash.h>

#include <string>

namespace loco::wire {
namespace {

uint64_t frame_checksum(const std::byte* header16, ByteSpan payload) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, header16, 16);
  if (!payload.empty()) XXH3_64bits_update(&state, payload.data(), payload.size());
  return XXH3_64bits_digest(&state);
}

}  // namespace

bool is_known_type(uint16_t type) {
  switch (static_cast<MsgType>(type)) {
    case MsgType::kHello:
    case MsgType::kChallenge:
    case MsgType::kAuth:
    case MsgType::kWelcome:
    case MsgType::kReject:
    case MsgType::kHeartbeat:
    case MsgType::kHeartbeatAck:
    case MsgType::kEpoch:
    case MsgType::kLeave:
    case MsgType::kOpDone:
    case MsgType::kOpCommit:
    case MsgType::kLinkFailed:
    case MsgType::kPeerUnreachable:
    case MsgType::kPeerHello:
    case MsgType::kPeerAccept:
    case MsgType::kData:
    case MsgType::kStateReport:
    case MsgType::kStatePlan:
    case MsgType::kStateDone:
    case MsgType::kStateComplete:
    case MsgType::kStateHello:
    case MsgType::kStateAccept:
    case MsgType::kChunkRequest:
    case MsgType::kChunkHeader:
    case MsgType::kChunkBytes:
      return true;
  }
  return false;
}

const char* msg_type_name(MsgType type) {
  switch (type) {
    case MsgType::kHello: return "HELLO";
    case MsgType::kChallenge: return "CHALLENGE";
    case MsgType::kAuth: return "AUTH";
    case MsgType::kWelcome: return "WELCOME";
    case MsgType::kReject: return "REJECT";
    case MsgType::kHeartbeat: return "HEARTBEAT";
    case MsgType::kHeartbeatAck: return "HEARTBEAT_ACK";
    case MsgType::kEpoch: return "EPOCH";
    case MsgType::kLeave: return "LEAVE";
    case MsgType::kOpDone: return "OP_DONE";
    case MsgType::kOpCommit: return "OP_COMMIT";
    case MsgType::kLinkFailed: return "LINK_FAILED";
    case MsgType::kPeerUnreachable: return "PEER_UNREACHABLE";
    case MsgType::kPeerHello: return "PEER_HELLO";
    case MsgType::kPeerAccept: return "PEER_ACCEPT";
    case MsgType::kData: return "DATA";
    case MsgType::kStateReport: return "STATE_REPORT";
    case MsgType::kStatePlan: return "STATE_PLAN";
    case MsgType::kStateDone: return "STATE_DONE";
    case MsgType::kStateComplete: return "STATE_COMPLETE";
    case MsgType::kStateHello: return "STATE_HELLO";
    case MsgType::kStateAccept: return "STATE_ACCEPT";
    case MsgType::kChunkRequest: return "CHUNK_REQUEST";
    case MsgType::kChunkHeader: return "CHUNK_HEADER";
    case MsgType::kChunkBytes: return "CHUNK_BYTES";
  }
  return "UNKNOWN";
}

void encode_header(MsgType type, ByteSpan payload, std::byte (&out)[kFrameHeaderSize],
                   uint32_t flags) {
  store_le<uint32_t>(out + 0, kMagic);
  store_le<uint16_t>(out + 4, kProtocolVersion);
  store_le<uint16_t>(out + 6, static_cast<uint16_t>(type));
  store_le<uint32_t>(out + 8, flags);
  store_le<uint32_t>(out + 12, static_cast<uint32_t>(payload.size()));
  const bool header_only = (flags & kFlagHeaderChecksumOnly) != 0;
  store_le<uint64_t>(out + 16, frame_checksum(out, header_only ? ByteSpan{} : payload));
}

Bytes encode_frame(MsgType type, ByteSpan payload, uint32_t flags) {
  Bytes out(kFrameHeaderSize + payload.size());
  std::byte header[kFrameHeaderSize];
  encode_header(type, payload, header, flags);
  std::copy(header, header + kFrameHeaderSize, out.begin());
  std::copy(payload.begin(), payload.end(), out.begin() + kFrameHeaderSize);
  return out;
}

Result<FrameHeader> decode_header(ByteSpan header, uint32_t max_payload, Framing framing) {
  if (header.size() < kFrameHeaderSize) {
    return DataLoss("truncated frame header: " + std::to_string(header.size()) + " of " +
                    std::to_string(kFrameHeaderSize) + " bytes");
  }
  const std::byte* p = header.data();
  if (load_le<uint32_t>(p) != kMagic) return DataLoss("bad frame magic (not a loco peer?)");
  FrameHeader h;
  h.version = load_le<uint16_t>(p + 4);
  if (h.version != kProtocolVersion) {
    return ProtocolMismatch("protocol version " + std::to_string(h.version) + ", this side speaks " +
                            std::to_string(kProtocolVersion));
  }
  uint16_t type = load_le<uint16_t>(p + 6);
  if (!is_known_type(type)) return DataLoss("unknown message type " + std::to_string(type));
  h.type = static_cast<MsgType>(type);
  h.flags = load_le<uint32_t>(p + 8);
  const bool one_seal_flag =
      h.flags == kFlagSealedAuthOnly || h.flags == kFlagSealedXChaCha || h.flags == kFlagSealedAes;
  if (framing == Framing::kSealed) {
    if (!one_seal_flag) {
      return DataLoss("frame is not sealed as this sealed connection requires (flags " +
                      std::to_string(h.flags) + ")");
    }
  } else if (one_seal_flag) {
    return DataLoss("sealed frame on a connection that is not sealed (flags " +
                    std::to_string(h.flags) + ")");
  } else if (h.flags != 0 && !(h.flags == kFlagHeaderChecksumOnly && h.type == MsgType::kData)) {
    return DataLoss("reserved frame flags set: " + std::to_string(h.flags));
  }
  h.length = load_le<uint32_t>(p + 12);
  if (h.length > max_payload && framing == Framing::kSealed) {
    return DataLoss("sealed frame claims " + std::to_string(h.length) +
                    " payload bytes, more than the limit of " + std::to_string(max_payload) +
                    " (tampered, or a peer bug)");
  }
  if (h.length > max_payload) {
    return ResourceExhausted("frame payload of " + std::to_string(h.length) +
                             " bytes exceeds the limit of " + std::to_string(max_payload));
  }
  h.checksum = load_le<uint64_t>(p + 16);
  return h;
}

Status verify_payload(const FrameHeader& header, ByteSpan header_bytes, ByteSpan payload) {
  if (header_bytes.size() < kFrameHeaderSize || payload.size() != header.length) {
    return DataLoss("frame payload length does not match its header");
  }
  const bool header_only = (header.flags & kFlagHeaderChecksumOnly) != 0;
  if (frame_checksum(header_bytes.data(), header_only ? ByteSpan{} : payload) != header.checksum) {
    return DataLoss(std::string("bad checksum on ") + msg_type_name(header.type) + " frame");
  }
  return OkStatus();
}

Result<Frame> decode_frame(ByteSpan bytes, uint32_t max_payload) {
  LOCO_ASSIGN_OR_RETURN(FrameHeader h, decode_header(bytes, max_payload));
  ByteSpan rest = bytes.subspan(kFrameHeaderSize);
  if (rest.size() < h.length) {
    return DataLoss("truncated frame: payload has " + std::to_string(rest.size()) + " of " +
                    std::to_string(h.length) + " bytes");
  }
  if (rest.size() > h.length) return DataLoss("trailing bytes after frame");
  LOCO_RETURN_IF_ERROR(verify_payload(h, bytes, rest));
  Frame f;
  f.type = h.type;
  f.flags = h.flags;
  f.payload.assign(rest.begin(), rest.end());
  return f;
}

}  // namespace loco::wire
