// auth.h: the swarm secret and the proofs of the join handshake (pure functions over bytes).
//
// Two kinds of secret. A generated one (`loco secret new`, generate_secret_text(): the text
// "loco-secret-v1:" and 64 hex digits, 32 random bytes) already has full entropy and is turned into
// the key with BLAKE2b. Anything else is a passphrase: it is stretched with Argon2id
// (crypto_pwhash, libsodium's interactive limits: 64 MiB, a few tenths of a second), so one
// captured handshake no longer allows a fast offline dictionary attack. The salt is fixed and
// domain-separated (every peer must derive the same key with nothing exchanged first), so the cost
// is per guess, not per swarm. Derived keys are cached per process; intermediate copies of the
// secret are zeroed.
// A proof is HMAC-SHA-512/256 (crypto_auth) keyed with that key over a domain label, the client
// nonce and the server nonce; the client and the server use different labels, so neither proof can
// be replayed as the other, and fresh nonces on both sides defeat replay across connections.
// Verification is constant-time. The seal keys of the connection that follows are derived here too
// (control_seal_keys). What this does not do: protect against someone who holds the secret. See docs/protocol.md (handshake) and docs/fault-model.md.
#pragma once

#include <array>
#include <optional>
#include <string>

#include "common/status.h"
#include "wire/messages.h"
#include "wire/sealed_frame.h"

namespace loco::membership {

struct SwarmKey {
  std::array<std::byte, 32> bytes{};
};

// Derives the key from secret text (see above). An empty secret, or a "loco-secret-v1:" text that
// is not followed by exactly 64 hex digits, is INVALID_ARGUMENT.
Result<SwarmKey> derive_key(std::string_view secret);

// A fresh generated secret: "loco-secret-v1:" + 64 hex digits of 32 random bytes.
std::string generate_secret_text();
// Writes a fresh generated secret to `path` (mode 0600, created; an existing file is not
// overwritten unless `overwrite`): FAILED_PRECONDITION if it exists, INVALID_ARGUMENT if it
// cannot be written.
Status write_new_secret_file(const std::string& path, bool overwrite);

// Loads the secret from `secret_file` if given (trailing newline stripped), else from the
// LOCO_SECRET environment variable; std::nullopt when neither is set. An unreadable, empty or
// directory path is INVALID_ARGUMENT; a file that its group or others may read or write is
// FAILED_PRECONDITION (chmod 600 it), since anyone who can read it can join the swarm.
Result<std::optional<SwarmKey>> load_swarm_key(const std::string& secret_file);

wire::Nonce make_nonce();
wire::Proof client_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server);
wire::Proof server_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server);
// Constant-time comparison of a received proof with the expected one.
bool proof_matches(const wire::Proof& expected, const wire::Proof& received);

// Seal keys of a control connection (docs/protocol.md 2.2): label loco/v1/seal/control over both
// nonces. The joining peer is the initiator. `encrypt` false: integrity only (--no-encrypt).
wire::SealKeys control_seal_keys(const SwarmKey& key, const wire::Nonce& client,
                                 const wire::Nonce& server, wire::SealRole role, bool encrypt);

}  // namespace loco::membership
