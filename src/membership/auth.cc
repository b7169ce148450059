// auth.cc: key derivation and handshake proofs with libsodium (see auth.h).
#include "membership/auth.h"

#include <sodium.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/check.h"
#include "common/rng.h"

namespace loco::membership {
namespace {

constexpr std::string_view kClientLabel = "loco/v1/client-proof";
constexpr std::string_view kServerLabel = "loco/v1/server-proof";

wire::Proof proof(std::string_view label, const SwarmKey& key, const wire::Nonce& client,
                  const wire::Nonce& server) {
  static_assert(crypto_auth_hmacsha512256_BYTES == wire::kProofSize);
  static_assert(crypto_auth_KEYBYTES == 32);
  LOCO_CHECK(sodium_init() >= 0);
  crypto_auth_hmacsha512256_state st;
  crypto_auth_hmacsha512256_init(&st, reinterpret_cast<const unsigned char*>(key.bytes.data()), key.bytes.size());
  crypto_auth_hmacsha512256_update(&st, reinterpret_cast<const unsigned char*>(label.data()), label.size());
  crypto_auth_hmacsha512256_update(&st, reinterpret_cast<const unsigned char*>(client.data()), client.size());
  crypto_auth_hmacsha512256_update(&st, reinterpret_cast<const unsigned char*>(server.data()), server.size());
  wire::Proof out;
  crypto_auth_hmacsha512256_final(&st, reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

}  // namespace

Result<SwarmKey> derive_key(std::string_view secret) {
  if (secret.empty()) return InvalidArgument("the swarm secret is empty");
  LOCO_CHECK(sodium_init() >= 0);
  SwarmKey key;
  constexpr std::string_view kPersonal = "loco/v1/swarm-key";
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key.bytes.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kPersonal.data()),
                            kPersonal.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(secret.data()),
                            secret.size());
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(key.bytes.data()),
                           key.bytes.size());
  return key;
}

Result<std::optional<SwarmKey>> load_swarm_key(const std::string& secret_file) {
  std::string secret;
  if (!secret_file.empty()) {
    std::error_code ec;
    // An ifstream opens a directory and then reads nothing, which would look like an empty file.
    if (std::filesystem::is_directory(secret_file, ec)) {
      return InvalidArgument("secret file '" + secret_file + "' is a directory, not a file");
    }
    std::ifstream in(secret_file, std::ios::binary);
    if (!in) {
      return InvalidArgument("cannot read secret file '" + secret_file + "'" +
                             (std::filesystem::exists(secret_file, ec) ? "" : ": no such file"));
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    if (in.bad()) return InvalidArgument("cannot read secret file '" + secret_file + "'");
    secret = ss.str();
    while (!secret.empty() && (secret.back() == '\n' || secret.back() == '\r')) secret.pop_back();
    if (secret.empty()) return InvalidArgument("secret file '" + secret_file + "' is empty");
  } else if (const char* env = std::getenv("LOCO_SECRET"); env != nullptr && *env != '\0') {
    secret = env;
  } else {
    return std::optional<SwarmKey>{};
  }
  LOCO_ASSIGN_OR_RETURN(SwarmKey key, derive_key(secret));
  return std::optional<SwarmKey>{key};
}

wire::Nonce make_nonce() {
  wire::Nonce n;
  secure_random(n);
  return n;
}

wire::Proof client_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server) {
  return proof(kClientLabel, key, client, server);
}

wire::Proof server_proof(const SwarmKey& key, const wire::Nonce& client, const wire::Nonce& server) {
  return proof(kServerLabel, key, client, server);
}

bool proof_matches(const wire::Proof& expected, const wire::Proof& received) {
  return sodium_memcmp(expected.data(), received.data(), expected.size()) == 0;
}

}  // namespace loco::membership
