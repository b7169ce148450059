// data_messages.cc: codecs and proofs of the data-plane messages (see data_messages.h).
#include "collectives/data_messages.h"

#include <sodium.h>

#include <string_view>

#include "common/check.h"

namespace loco::collectives {
namespace {

constexpr std::string_view kHelloLabel = "loco/v1/peer-hello";
constexpr std::string_view kAcceptLabel = "loco/v1/peer-accept";

// The MAC'd bytes of a hello: every field but the proof, in encoding order.
void put_hello_fields(ByteWriter& w, const PeerHello& h) {
  w.put<uint64_t>(h.epoch);
  w.put<uint64_t>(h.from_peer);
  w.put<uint64_t>(h.to_peer);
  w.put<uint32_t>(h.stripe);
  w.put<uint32_t>(h.stripes);
  w.put_bytes(h.nonce);
}

void put_accept_fields(ByteWriter& w, const PeerAccept& a) {
  w.put<int32_t>(static_cast<int32_t>(a.code));
  w.put<uint64_t>(a.epoch);
  w.put_string(a.reason);
  w.put_bytes(a.nonce);
}

wire::Proof mac(const LinkKey& key, std::string_view label, ByteSpan data) {
  static_assert(crypto_auth_hmacsha512256_BYTES == wire::kProofSize);
  LOCO_CHECK(sodium_init() >= 0);
  crypto_auth_hmacsha512256_state st;
  crypto_auth_hmacsha512256_init(&st, reinterpret_cast<const unsigned char*>(key.data()),
                                 key.size());
  crypto_auth_hmacsha512256_update(&st, reinterpret_cast<const unsigned char*>(label.data()),
                                   label.size());
  crypto_auth_hmacsha512256_update(&st, reinterpret_cast<const unsigned char*>(data.data()),
                                   data.size());
  wire::Proof out;
  crypto_auth_hmacsha512256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

bool valid_code(int32_t c) { return c >= 0 && c <= static_cast<int32_t>(StatusCode::kInternal); }

}  // namespace

Bytes PeerHello::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_hello_fields(w, *this);
  w.put_bytes(proof);
  return out;
}

Result<PeerHello> decode_peer_hello(ByteSpan payload) {
  ByteReader r(payload);
  PeerHello h;
  r.get(h.epoch);
  r.get(h.from_peer);
  r.get(h.to_peer);
  r.get(h.stripe);
  r.get(h.stripes);
  r.get_bytes(h.nonce);
  r.get_bytes(h.proof);
  if (!r.done()) return DataLoss("malformed PEER_HELLO");
  if (h.stripes == 0 || h.stripe >= h.stripes) return DataLoss("PEER_HELLO stripe out of range");
  return h;
}

Bytes PeerAccept::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_accept_fields(w, *this);
  w.put_bytes(proof);
  return out;
}

Result<PeerAccept> decode_peer_accept(ByteSpan payload) {
  ByteReader r(payload);
  PeerAccept a;
  int32_t code = 0;
  r.get(code);
  r.get(a.epoch);
  r.get_string(a.reason, wire::kMaxReasonLen);
  r.get_bytes(a.nonce);
  r.get_bytes(a.proof);
  if (!r.done()) return DataLoss("malformed PEER_ACCEPT");
  if (!valid_code(code)) return DataLoss("PEER_ACCEPT carries an unknown status code");
  a.code = static_cast<StatusCode>(code);
  return a;
}

wire::Proof hello_proof(const std::optional<LinkKey>& key, const PeerHello& hello) {
  if (!key) return wire::Proof{};
  Bytes fields;
  ByteWriter w(fields);
  put_hello_fields(w, hello);
  return mac(*key, kHelloLabel, fields);
}

wire::Proof accept_proof(const std::optional<LinkKey>& key, const PeerHello& hello,
                         const PeerAccept& accept) {
  if (!key) return wire::Proof{};
  Bytes fields;
  ByteWriter w(fields);
  put_hello_fields(w, hello);
  put_accept_fields(w, accept);
  return mac(*key, kAcceptLabel, fields);
}

wire::SealKeys link_seal_keys(const LinkKey& key, const PeerHello& hello, const PeerAccept& accept,
                              wire::SealRole role, bool encrypt) {
  Bytes transcript = hello.encode();
  transcript.insert(transcript.end(), accept.nonce.begin(), accept.nonce.end());
  return wire::derive_seal_keys(key, "loco/v1/seal/link", transcript, role, encrypt);
}

bool proofs_equal(const wire::Proof& a, const wire::Proof& b) {
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

void encode_data_header(const DataHeader& h, std::byte (&out)[kDataHeaderSize]) {
  store_le<uint64_t>(out + 0, h.epoch);
  store_le<uint64_t>(out + 8, h.tag);
  store_le<uint64_t>(out + 16, h.seq);
  store_le<uint64_t>(out + 24, h.fingerprint);
  store_le<uint64_t>(out + 32, h.offset);
  store_le<uint32_t>(out + 40, h.length);
  store_le<uint16_t>(out + 44, h.step);
  out[46] = static_cast<std::byte>(h.kind);
  out[47] = std::byte{0};
}

Result<DataHeader> decode_data_header(ByteSpan payload) {
  if (payload.size() != kDataHeaderSize) return DataLoss("malformed DATA header");
  const std::byte* p = payload.data();
  DataHeader h;
  h.epoch = load_le<uint64_t>(p + 0);
  h.tag = load_le<uint64_t>(p + 8);
  h.seq = load_le<uint64_t>(p + 16);
  h.fingerprint = load_le<uint64_t>(p + 24);
  h.offset = load_le<uint64_t>(p + 32);
  h.length = load_le<uint32_t>(p + 40);
  h.step = load_le<uint16_t>(p + 44);
  const auto kind = static_cast<uint8_t>(p[46]);
  if (kind < static_cast<uint8_t>(OpKind::kAllReduce) ||
      kind > static_cast<uint8_t>(OpKind::kBroadcast)) {
    return DataLoss("DATA header names an unknown operation kind");
  }
  h.kind = static_cast<OpKind>(kind);
  if (p[47] != std::byte{0}) return DataLoss("DATA header reserved byte set");
  return h;
}

}  // namespace loco::collectives
