// auth.h: the swarm secret and the proofs of the join handshake (pure functions over bytes).
//
// The secret text is stretched into a 32-byte key with BLAKE2b (libsodium crypto_generichash). A proof
// is HMAC-SHA-512/256 (crypto_auth) keyed with that key over a domain label, the client nonce and the
// server nonce; the client and the server use different labels, so neither proof can be replayed as
// the other, and fresh nonces on both sides defeat replay across connections. Verification is
// constant-time. What this does not do: encrypt traffic, or protect against someone who holds the
// secret. See docs/protocol.md (handshake) and docs/fault-model.md.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "common/status.h"
#include "wire/messages.h"

namespace loco::membership {

struct SwarmKey {
  std::array<std::byte, 32> bytes{};
};

// Derives the key from secret text. An empty secret is INVALID_ARGUMENT.
Result<SwarmKey> derive_key(std::string_view secret);

// Loads the secret from `secret_file` if given (trailing newline stripped), else from the
// LOCO_SECRET environment variable; std::nullopt when neither is set. An unreadable or empty file
// is INVALID_ARGUMENT.
Result<std::optional<SwarmKey>> load_swarm_key(const std::string& secret_file);

wire::Nonce make_nonce();
wire::Proof client_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server);
wire::Proof server_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server);
// Constant-time comparison of a received proof with the expected one.
bool proof_matches(const wire::Proof& expected, const wire::Proof& received);

}  // namespace loco::membership
