// auth.cc: key derivation and handshake proofs with libsodium (see auth.h).
#include "membership/auth.h"

#include <sodium.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
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

namespace {

constexpr std::string_view kGeneratedPrefix = "loco-secret-v1:";
constexpr size_t kGeneratedBytes = 32;

// The key of a full-entropy secret (generated, decoded from hex).
SwarmKey key_from_bytes(const unsigned char* bytes, size_t n) {
  SwarmKey key;
  constexpr std::string_view kPersonal = "loco/v1/swarm-key";
  crypto_generichash_state st;
  crypto_generichash_init(&st, nullptr, 0, key.bytes.size());
  crypto_generichash_update(&st, reinterpret_cast<const unsigned char*>(kPersonal.data()),
                            kPersonal.size());
  crypto_generichash_update(&st, bytes, n);
  crypto_generichash_final(&st, reinterpret_cast<unsigned char*>(key.bytes.data()),
                           key.bytes.size());
  sodium_memzero(&st, sizeof(st));
  return key;
}

Result<SwarmKey> stretch_passphrase(std::string_view secret) {
  static_assert(crypto_pwhash_SALTBYTES == 16);
  unsigned char salt[crypto_pwhash_SALTBYTES];
  constexpr std::string_view kSaltLabel = "loco/v1/swarm-salt";
  crypto_generichash(salt, sizeof(salt), reinterpret_cast<const unsigned char*>(kSaltLabel.data()),
                     kSaltLabel.size(), nullptr, 0);
  SwarmKey key;
  if (crypto_pwhash(reinterpret_cast<unsigned char*>(key.bytes.data()), key.bytes.size(),
                    secret.data(), secret.size(), salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                    crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return ResourceExhausted("stretching the swarm passphrase (Argon2id, 64 MiB) ran out of memory");
  }
  return key;
}

// Stretching costs a few tenths of a second and 64 MiB, and a process derives the same key many
// times (tests, the C API): cache by a hash of the secret, never the secret itself.
Result<SwarmKey> cached_stretch(std::string_view secret) {
  static std::mutex mu;
  static std::map<std::array<unsigned char, 32>, SwarmKey> cache;
  std::array<unsigned char, 32> id{};
  constexpr std::string_view kIdLabel = "loco/v1/cache-id";
  crypto_generichash(id.data(), id.size(), reinterpret_cast<const unsigned char*>(secret.data()),
                     secret.size(), reinterpret_cast<const unsigned char*>(kIdLabel.data()),
                     kIdLabel.size());
  std::lock_guard<std::mutex> lock(mu);
  if (auto it = cache.find(id); it != cache.end()) return it->second;
  LOCO_ASSIGN_OR_RETURN(SwarmKey key, stretch_passphrase(secret));
  if (cache.size() < 64) cache.emplace(id, key);
  return key;
}

}  // namespace

Result<SwarmKey> derive_key(std::string_view secret) {
  if (secret.empty()) return InvalidArgument("the swarm secret is empty");
  LOCO_CHECK(sodium_init() >= 0);
  if (secret.substr(0, kGeneratedPrefix.size()) == kGeneratedPrefix) {
    const std::string_view hex = secret.substr(kGeneratedPrefix.size());
    unsigned char bytes[kGeneratedBytes];
    size_t n = 0;
    const char* end = nullptr;
    if (hex.size() != 2 * kGeneratedBytes ||
        sodium_hex2bin(bytes, sizeof(bytes), hex.data(), hex.size(), nullptr, &n, &end) != 0 ||
        n != kGeneratedBytes || end != hex.data() + hex.size()) {
      sodium_memzero(bytes, sizeof(bytes));
      return InvalidArgument("a generated swarm secret is 'loco-secret-v1:' and 64 hex digits "
                             "(make one with `loco secret new FILE`)");
    }
    SwarmKey key = key_from_bytes(bytes, n);
    sodium_memzero(bytes, sizeof(bytes));
    return key;
  }
  return cached_stretch(secret);
}

std::string generate_secret_text() {
  LOCO_CHECK(sodium_init() >= 0);
  unsigned char bytes[kGeneratedBytes];
  randombytes_buf(bytes, sizeof(bytes));
  char hex[2 * kGeneratedBytes + 1];
  sodium_bin2hex(hex, sizeof(hex), bytes, sizeof(bytes));
  std::string out = std::string(kGeneratedPrefix) + hex;
  sodium_memzero(bytes, sizeof(bytes));
  sodium_memzero(hex, sizeof(hex));
  return out;
}

Status write_new_secret_file(const std::string& path, bool overwrite) {
  if (path.empty()) return InvalidArgument("no secret file path given");
  const int flags = O_WRONLY | O_CREAT | (overwrite ? O_TRUNC : O_EXCL) | O_CLOEXEC;
  const int fd = ::open(path.c_str(), flags, 0600);
  if (fd < 0) {
    if (errno == EEXIST) {
      return FailedPrecondition("'" + path + "' exists: not overwritten (pass --force to replace it)");
    }
    return InvalidArgument("cannot create secret file '" + path + "': " + std::strerror(errno));
  }
  std::string text = generate_secret_text() + "\n";
  // O_TRUNC keeps an existing file's mode: make it 0600 whatever it was.
  const bool ok = ::fchmod(fd, 0600) == 0 &&
                  ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  sodium_memzero(text.data(), text.size());
  const bool closed = ::close(fd) == 0;
  if (!ok || !closed) return InvalidArgument("cannot write secret file '" + path + "'");
  return OkStatus();
}

Result<std::optional<SwarmKey>> load_swarm_key(const std::string& secret_file) {
  std::string secret;
  if (!secret_file.empty()) {
    std::error_code ec;
    // An ifstream opens a directory and then reads nothing, which would look like an empty file.
    if (std::filesystem::is_directory(secret_file, ec)) {
      return InvalidArgument("secret file '" + secret_file + "' is a directory, not a file");
    }
    struct stat st {};
    if (::stat(secret_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
      char mode[8];
      std::snprintf(mode, sizeof(mode), "%04o", static_cast<unsigned>(st.st_mode & 07777));
      return FailedPrecondition("secret file '" + secret_file + "' may be read by others (mode " +
                                mode + "): anyone who reads it can join the swarm; run chmod 600 '" +
                                secret_file + "'");
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
  auto key = derive_key(secret);
  sodium_memzero(secret.data(), secret.size());
  if (!key.ok()) return key.status();
  return std::optional<SwarmKey>{*key};
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

wire::SealKeys control_seal_keys(const SwarmKey& key, const wire::Nonce& client,
                                 const wire::Nonce& server, wire::SealRole role, bool encrypt) {
  std::array<std::byte, 2 * wire::kNonceSize> transcript;
  std::copy(client.begin(), client.end(), transcript.begin());
  std::copy(server.begin(), server.end(), transcript.begin() + wire::kNonceSize);
  return wire::derive_seal_keys(key.bytes, "loco/v1/seal/control", transcript, role, encrypt);
}

}  // namespace loco::membership
