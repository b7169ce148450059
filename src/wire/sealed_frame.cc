// sealed_frame.cc: key derivation, sealing and opening of frames with libsodium (see
// sealed_frame.h for the format and docs/protocol.md for the reasoning).
#include "wire/sealed_frame.h"

#include <sodium.h>

#include <cstring>
#include <string>

namespace loco::wire {
namespace {

const unsigned char* uc(const std::byte* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* uc(std::byte* p) { return reinterpret_cast<unsigned char*>(p); }

void init_sodium() {
  // sodium_init is idempotent and thread-safe; failure means no usable RNG, which the handshake
  // would have hit first.
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

// The nonce of frame `seq`: the sequence number, little-endian, zero-padded to 24 bytes (the
// 12-byte AES-GCM nonce is its prefix). Auth-only frames set the last byte to 1 so that their
// one-time Poly1305 key never equals the one XChaCha20-Poly1305 would derive at the same nonce.
struct Nonce24 {
  unsigned char bytes[24] = {};
  Nonce24(uint64_t seq, SealCipher cipher) {
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<unsigned char>(seq >> (8 * i));
    if (cipher == SealCipher::kAuthOnly) bytes[23] = 1;
  }
};

// Poly1305 tag of header + payload parts under the one-time key of frame `seq`.
void auth_only_tag(const SealKey& key, uint64_t seq, ByteSpan header,
                   std::span<const ByteSpan> parts, unsigned char* tag) {
  Nonce24 n(seq, SealCipher::kAuthOnly);
  unsigned char otk[crypto_onetimeauth_KEYBYTES];
  crypto_stream_xchacha20(otk, sizeof(otk), n.bytes, uc(key.data()));
  crypto_onetimeauth_state st;
  crypto_onetimeauth_init(&st, otk);
  crypto_onetimeauth_update(&st, uc(header.data()), header.size());
  for (ByteSpan p : parts) {
    if (!p.empty()) crypto_onetimeauth_update(&st, uc(p.data()), p.size());
  }
  crypto_onetimeauth_final(&st, tag);
  sodium_memzero(otk, sizeof(otk));
  sodium_memzero(&st, sizeof(st));
}

static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kSealTagSize);
static_assert(crypto_aead_aes256gcm_ABYTES == kSealTagSize);
static_assert(crypto_onetimeauth_BYTES == kSealTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == kSealKeySize);
static_assert(crypto_aead_aes256gcm_KEYBYTES == kSealKeySize);

}  // namespace

bool seal_cipher_available(SealCipher cipher) {
  init_sodium();
  if (cipher == SealCipher::kAes256Gcm) return crypto_aead_aes256gcm_is_available() != 0;
  return true;
}

SealCipher preferred_cipher(bool encrypt) {
  if (!encrypt) return SealCipher::kAuthOnly;
  return seal_cipher_available(SealCipher::kAes256Gcm) ? SealCipher::kAes256Gcm
                                                       : SealCipher::kXChaCha20Poly1305;
}

const char* seal_cipher_name(SealCipher cipher) {
  switch (cipher) {
    case SealCipher::kAuthOnly: return "Poly1305 (integrity only)";
    case SealCipher::kXChaCha20Poly1305: return "XChaCha20-Poly1305";
    case SealCipher::kAes256Gcm: return "AES-256-GCM";
  }
  return "unknown";
}

uint32_t seal_flag(SealCipher cipher) {
  switch (cipher) {
    case SealCipher::kAuthOnly: return kFlagSealedAuthOnly;
    case SealCipher::kXChaCha20Poly1305: return kFlagSealedXChaCha;
    case SealCipher::kAes256Gcm: return kFlagSealedAes;
  }
  return 0;
}

Result<SealCipher> seal_cipher_of_flags(uint32_t flags) {
  switch (flags) {
    case kFlagSealedAuthOnly: return SealCipher::kAuthOnly;
    case kFlagSealedXChaCha: return SealCipher::kXChaCha20Poly1305;
    case kFlagSealedAes: return SealCipher::kAes256Gcm;
    default: break;
  }
  return DataLoss("frame is not sealed as this sealed connection requires (flags " +
                  std::to_string(flags) + ")");
}

SealKeys derive_seal_keys(std::span<const std::byte, kSealKeySize> secret_key,
                          std::string_view label, ByteSpan transcript, SealRole role,
                          bool encrypt) {
  init_sodium();
  unsigned char out[2 * kSealKeySize];
  crypto_generichash_state st;
  crypto_generichash_init(&st, uc(secret_key.data()), secret_key.size(), sizeof(out));
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(label.data()),
                            label.size());
  const unsigned char zero = 0;
  crypto_generichash_update(&st, &zero, 1);
  if (!transcript.empty()) crypto_generichash_update(&st, uc(transcript.data()), transcript.size());
  crypto_generichash_final(&st, out, sizeof(out));
  SealKeys keys;
  const unsigned char* first = out;                  // initiator -> responder
  const unsigned char* second = out + kSealKeySize;  // responder -> initiator
  const bool initiator = role == SealRole::kInitiator;
  std::memcpy(keys.send.data(), initiator ? first : second, kSealKeySize);
  std::memcpy(keys.receive.data(), initiator ? second : first, kSealKeySize);
  keys.cipher = preferred_cipher(encrypt);
  sodium_memzero(out, sizeof(out));
  sodium_memzero(&st, sizeof(st));
  return keys;
}

Sealer::Sealer(const SealKey& key, SealCipher cipher) : key_(key), cipher_(cipher) {
  init_sodium();
}
Sealer::~Sealer() { sodium_memzero(key_.data(), key_.size()); }

Status Sealer::seal(MsgType type, std::span<const ByteSpan> parts, Bytes& scratch,
                    std::byte (&header)[kFrameHeaderSize], std::byte (&tag)[kSealTagSize]) {
  size_t length = 0;
  for (ByteSpan p : parts) length += p.size();
  if (length > kMaxDataPayload) {
    return InvalidArgument("frame payload of " + std::to_string(length) + " bytes is too large");
  }
  encode_header(type, ByteSpan{}, header);
  store_le<uint32_t>(header + 8, seal_flag(cipher_));
  store_le<uint32_t>(header + 12, static_cast<uint32_t>(length));
  store_le<uint64_t>(header + 16, 0);  // the tag replaces the checksum
  const uint64_t seq = seq_++;
  unsigned char* t = uc(tag);
  if (cipher_ == SealCipher::kAuthOnly) {
    auth_only_tag(key_, seq, ByteSpan(header), parts, t);
    return OkStatus();
  }
  scratch.resize(length);
  size_t at = 0;
  for (ByteSpan p : parts) {
    if (!p.empty()) std::memcpy(scratch.data() + at, p.data(), p.size());
    at += p.size();
  }
  Nonce24 n(seq, cipher_);
  unsigned long long tag_len = 0;
  unsigned char* m = uc(scratch.data());
  if (cipher_ == SealCipher::kAes256Gcm) {
    crypto_aead_aes256gcm_encrypt_detached(m, t, &tag_len, m, length, uc(header), kFrameHeaderSize,
                                           nullptr, n.bytes, uc(key_.data()));
  } else {
    crypto_aead_xchacha20poly1305_ietf_encrypt_detached(m, t, &tag_len, m, length, uc(header),
                                                        kFrameHeaderSize, nullptr, n.bytes,
                                                        uc(key_.data()));
  }
  return OkStatus();
}

Opener::Opener(const SealKey& key) : key_(key) { init_sodium(); }
Opener::~Opener() { sodium_memzero(key_.data(), key_.size()); }

Status Opener::open(ByteSpan header, MutableByteSpan payload, ByteSpan tag) {
  if (header.size() != kFrameHeaderSize || tag.size() != kSealTagSize ||
      load_le<uint32_t>(header.data() + 12) != payload.size()) {
    return DataLoss("sealed frame has the wrong shape");
  }
  LOCO_ASSIGN_OR_RETURN(SealCipher cipher, seal_cipher_of_flags(load_le<uint32_t>(header.data() + 8)));
  const uint64_t seq = seq_;
  const std::string what = std::string("sealed ") + seal_cipher_name(cipher) + " frame #" +
                           std::to_string(seq);
  int rc = -1;
  if (cipher == SealCipher::kAuthOnly) {
    unsigned char expect[kSealTagSize];
    const ByteSpan parts[1] = {ByteSpan(payload)};
    auth_only_tag(key_, seq, header, parts, expect);
    rc = crypto_verify_16(expect, uc(tag.data()));
  } else if (cipher == SealCipher::kAes256Gcm) {
    if (!seal_cipher_available(cipher)) {
      return DataLoss(what + ": this CPU has no AES-NI to open it (the sender should be told to "
                             "use XChaCha20-Poly1305)");
    }
    Nonce24 n(seq, cipher);
    rc = crypto_aead_aes256gcm_decrypt_detached(uc(payload.data()), nullptr, uc(payload.data()),
                                                payload.size(), uc(tag.data()), uc(header.data()),
                                                header.size(), n.bytes, uc(key_.data()));
  } else {
    Nonce24 n(seq, cipher);
    rc = crypto_aead_xchacha20poly1305_ietf_decrypt_detached(
        uc(payload.data()), nullptr, uc(payload.data()), payload.size(), uc(tag.data()),
        uc(header.data()), header.size(), n.bytes, uc(key_.data()));
  }
  if (rc != 0) {
    return DataLoss(what + " failed authentication (tampered, replayed, reordered or wrong key)");
  }
  ++seq_;
  return OkStatus();
}

Result<Bytes> seal_frame(Sealer& sealer, MsgType type, ByteSpan payload) {
  std::byte header[kFrameHeaderSize];
  std::byte tag[kSealTagSize];
  Bytes scratch;
  const ByteSpan parts[1] = {payload};
  LOCO_RETURN_IF_ERROR(sealer.seal(type, parts, scratch, header, tag));
  const ByteSpan body = sealer.encrypts() ? ByteSpan(scratch) : payload;
  Bytes out;
  out.reserve(kFrameHeaderSize + body.size() + kSealTagSize);
  out.insert(out.end(), header, header + kFrameHeaderSize);
  out.insert(out.end(), body.begin(), body.end());
  out.insert(out.end(), tag, tag + kSealTagSize);
  return out;
}

Result<Frame> open_frame(Opener& opener, ByteSpan bytes, uint32_t max_payload) {
  LOCO_ASSIGN_OR_RETURN(FrameHeader h, decode_header(bytes, max_payload, Framing::kSealed));
  if (bytes.size() != kFrameHeaderSize + size_t{h.length} + kSealTagSize) {
    return DataLoss("sealed frame of " + std::to_string(bytes.size()) + " bytes, its header says " +
                    std::to_string(kFrameHeaderSize + size_t{h.length} + kSealTagSize));
  }
  Frame f;
  f.type = h.type;
  f.flags = h.flags;
  f.payload.assign(bytes.begin() + kFrameHeaderSize, bytes.begin() + kFrameHeaderSize + h.length);
  LOCO_RETURN_IF_ERROR(opener.open(bytes.first(kFrameHeaderSize), f.payload,
                                   bytes.subspan(kFrameHeaderSize + h.length, kSealTagSize)));
  return f;
}

}  // namespace loco::wire
