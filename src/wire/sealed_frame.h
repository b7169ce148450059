// sealed_frame.h: sealed sessions, the frame protection every connection switches to once its
// handshake proved the swarm secret (docs/protocol.md, "Sealed frames"). Pure functions and two
// small stateful objects (one per direction); nothing here knows sockets.
//
// A sealed frame is the ordinary 24-byte header (frame.h) with exactly one seal flag set and a
// zero checksum field, then `length` payload bytes (ciphertext, or plaintext when encryption is
// off), then a 16-byte tag. The tag authenticates all 24 header bytes (type, flags, length) and
// the payload under a per-connection, per-direction key and a nonce that is the frame's 64-bit
// sequence number in that direction. The sequence number is never sent: both ends count, so a
// replayed, reordered, dropped or injected frame fails its tag (DATA_LOSS).
//
// Ciphers, chosen by each sender for its own direction and named in the flags (authenticated, so
// not downgradable): AES-256-GCM where this CPU has AES-NI, else XChaCha20-Poly1305; with
// encryption turned off, "auth only": Poly1305 keyed per frame from the XChaCha20 keystream at
// that frame's nonce (the MAC half of the AEAD, payload in clear). Any receiver opens XChaCha20 and
// auth-only frames; AES-256-GCM frames need AES-NI on the receiver too (DATA_LOSS saying so).
//
// Not here: when a connection starts sealing (transport/connection.h, start_sealing) and which
// handshake bytes form the transcript (each handshake's owner).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "common/bytes.h"
#include "common/status.h"
#include "wire/frame.h"

namespace loco::wire {

inline constexpr size_t kSealKeySize = 32;
inline constexpr size_t kSealTagSize = 16;
// The seal flag bits (kFlagSealed*, kSealFlagMask) live in frame.h with the other flags.

enum class SealCipher : uint8_t {
  kAuthOnly = 1,           // integrity only: Poly1305, payload in clear
  kXChaCha20Poly1305 = 2,  // encrypted, any CPU
  kAes256Gcm = 3,          // encrypted, needs AES-NI (both ends)
};

using SealKey = std::array<std::byte, kSealKeySize>;

// Which end of the handshake this side was: the one that spoke first (dialer, joining peer,
// chunk receiver) or the one that answered.
enum class SealRole : uint8_t { kInitiator, kResponder };

struct SealKeys {
  SealKey send{};
  SealKey receive{};
  SealCipher cipher = SealCipher::kXChaCha20Poly1305;  // what this side sends with
};

// The cipher this side seals with: AES-256-GCM if available, else XChaCha20-Poly1305; auth-only
// when `encrypt` is false.
SealCipher preferred_cipher(bool encrypt);
const char* seal_cipher_name(SealCipher cipher);
bool seal_cipher_available(SealCipher cipher);
uint32_t seal_flag(SealCipher cipher);
// The cipher a header's flags name: DATA_LOSS unless exactly one seal bit (and nothing else) is set.
Result<SealCipher> seal_cipher_of_flags(uint32_t flags);

// Keys for both directions: BLAKE2b-512 keyed with `secret_key` over `label`, a zero byte and
// `transcript` (handshake bytes both ends saw identically, carrying both ends' fresh nonces);
// the first half keys initiator -> responder, the second half the other way.
SealKeys derive_seal_keys(std::span<const std::byte, kSealKeySize> secret_key,
                          std::string_view label, ByteSpan transcript, SealRole role,
                          bool encrypt);

// One direction's sending side. Not thread-safe: the caller seals in wire order (under its send
// lock), since the sequence number is the nonce.
class Sealer {
 public:
  Sealer(const SealKey& key, SealCipher cipher);
  ~Sealer();
  Sealer(const Sealer&) = delete;
  Sealer& operator=(const Sealer&) = delete;

  SealCipher cipher() const { return cipher_; }
  bool encrypts() const { return cipher_ != SealCipher::kAuthOnly; }
  uint64_t next_sequence() const { return seq_; }

  // Seals the next frame, whose payload is the concatenation of `parts`: writes its header and
  // tag. An encrypting cipher copies the parts into `scratch` (resized to the payload length) and
  // encrypts them there: the bytes to send are header, scratch, tag. Auth-only leaves `scratch`
  // alone: the bytes to send are header, the parts, tag. INVALID_ARGUMENT past kMaxDataPayload.
  Status seal(MsgType type, std::span<const ByteSpan> parts, Bytes& scratch,
              std::byte (&header)[kFrameHeaderSize], std::byte (&tag)[kSealTagSize]);

 private:
  SealKey key_;
  SealCipher cipher_;
  uint64_t seq_ = 0;
};

// One direction's receiving side; accepts any cipher the sender names (see above).
class Opener {
 public:
  explicit Opener(const SealKey& key);
  ~Opener();
  Opener(const Opener&) = delete;
  Opener& operator=(const Opener&) = delete;

  uint64_t next_sequence() const { return seq_; }

  // Verifies (and decrypts in place) the next frame: `header` its 24 raw bytes, `payload` exactly
  // its `length` bytes, `tag` the 16 that follow. DATA_LOSS on any mismatch; the sequence number
  // advances only on success (a failed connection is dropped anyway).
  Status open(ByteSpan header, MutableByteSpan payload, ByteSpan tag);

 private:
  SealKey key_;
  uint64_t seq_ = 0;
};

// Whole-frame conveniences for tests and the fuzz target: one buffer header + payload + tag.
Result<Bytes> seal_frame(Sealer& sealer, MsgType type, ByteSpan payload);
// Decodes and opens one whole sealed frame (exactly header + payload + tag).
Result<Frame> open_frame(Opener& opener, ByteSpan bytes, uint32_t max_payload);

}  // namespace loco::wire
