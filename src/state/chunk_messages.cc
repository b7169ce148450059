// chunk_messages.cc: codecs and proofs of the chunk-transfer messages (see chunk_messages.h).
#include "state/chunk_messages.h"

#include <sodium.h>

#include <string_view>

#include "common/check.h"

namespace loco::state {
namespace {

constexpr std::string_view kHelloLabel = "loco/v1/state-hello";
constexpr std::string_view kAcceptLabel = "loco/v1/state-accept";

Status malformed(const char* what) { return DataLoss(std::string("malformed ") + what + " payload"); }

bool get_code(ByteReader& r, StatusCode& code) {
  int32_t c = 0;
  if (!r.get(c) || c < 0 || c > static_cast<int32_t>(StatusCode::kInternal)) return false;
  code = static_cast<StatusCode>(c);
  return true;
}

wire::Proof mac(const StateKey& key, std::string_view label, ByteSpan data) {
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

void put_hello_fields(ByteWriter& w, const StateHello& h) {
  w.put<uint64_t>(h.from_peer);
  w.put<uint64_t>(h.to_peer);
  w.put_bytes(h.nonce);
}

void put_accept_fields(ByteWriter& w, const StateAccept& a) {
  w.put<int32_t>(static_cast<int32_t>(a.code));
  w.put_string(std::string_view(a.reason).substr(0, wire::kMaxReasonLen));
  w.put_bytes(a.nonce);
}

}  // namespace

Bytes StateHello::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_hello_fields(w, *this);
  w.put_bytes(proof);
  return out;
}

Result<StateHello> decode_state_hello(ByteSpan payload) {
  ByteReader r(payload);
  StateHello h;
  if (!r.get(h.from_peer) || !r.get(h.to_peer) || !r.get_bytes(h.nonce) ||
      !r.get_bytes(h.proof) || !r.done()) {
    return malformed("STATE_HELLO");
  }
  return h;
}

Bytes StateAccept::encode() const {
  Bytes out;
  ByteWriter w(out);
  put_accept_fields(w, *this);
  w.put_bytes(proof);
  return out;
}

Result<StateAccept> decode_state_accept(ByteSpan payload) {
  ByteReader r(payload);
  StateAccept a;
  if (!get_code(r, a.code) || !r.get_string(a.reason, wire::kMaxReasonLen) ||
      !r.get_bytes(a.nonce) || !r.get_bytes(a.proof) || !r.done()) {
    return malformed("STATE_ACCEPT");
  }
  return a;
}

Bytes ChunkRequest::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint32_t>(chunk);
  w.put<uint64_t>(hash);
  return out;
}

Result<ChunkRequest> decode_chunk_request(ByteSpan payload) {
  ByteReader r(payload);
  ChunkRequest m;
  if (!r.get(m.chunk) || !r.get(m.hash) || !r.done()) return malformed("CHUNK_REQUEST");
  return m;
}

Bytes ChunkHeader::encode() const {
  Bytes out;
  ByteWriter w(out);
  w.put<uint32_t>(chunk);
  w.put<int32_t>(static_cast<int32_t>(code));
  w.put<uint32_t>(length);
  w.put<uint64_t>(hash);
  return out;
}

Result<ChunkHeader> decode_chunk_header(ByteSpan payload) {
  ByteReader r(payload);
  ChunkHeader m;
  if (!r.get(m.chunk) || !get_code(r, m.code) || !r.get(m.length) || !r.get(m.hash) ||
      !r.done()) {
    return malformed("CHUNK_HEADER");
  }
  if (m.code != StatusCode::kOk && m.length != 0) return malformed("CHUNK_HEADER");
  return m;
}

wire::Proof state_hello_proof(const std::optional<StateKey>& key, const StateHello& hello) {
  if (!key) return {};
  Bytes b;
  ByteWriter w(b);
  put_hello_fields(w, hello);
  return mac(*key, kHelloLabel, b);
}

wire::Proof state_accept_proof(const std::optional<StateKey>& key, const StateHello& hello,
                               const StateAccept& accept) {
  if (!key) return {};
  Bytes b;
  ByteWriter w(b);
  w.put_bytes(hello.nonce);
  put_accept_fields(w, accept);
  return mac(*key, kAcceptLabel, b);
}

wire::SealKeys chunk_seal_keys(const StateKey& key, const StateHello& hello,
                               const StateAccept& accept, wire::SealRole role, bool encrypt) {
  Bytes transcript = hello.encode();
  transcript.insert(transcript.end(), accept.nonce.begin(), accept.nonce.end());
  return wire::derive_seal_keys(key, "loco/v1/seal/chunk", transcript, role, encrypt);
}

bool state_proofs_equal(const wire::Proof& a, const wire::Proof& b) {
  LOCO_CHECK(sodium_init() >= 0);
  return sodium_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace loco::state
