// auth_test.cc: the swarm key and handshake proofs (membership/auth.h): key derivation, client and
// server proofs over both nonces, constant-time matching, and loading the secret from a file or the
// LOCO_SECRET environment variable. The handshake over a connection is the coordinator's test.
#include "membership/auth.h"

#include <gtest/gtest.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

namespace loco::membership {
namespace {

wire::Nonce nonce_of(uint8_t fill) {
  wire::Nonce n;
  n.fill(std::byte{fill});
  return n;
}

SwarmKey key_of(std::string_view secret) {
  auto key = derive_key(secret);
  EXPECT_TRUE(key.ok()) << key.status().to_string();
  return key.ok() ? *key : SwarmKey{};
}

TEST(Auth, DeriveKeyIsDeterministicAndDependsOnTheSecret) {
  const SwarmKey a1 = key_of("correct horse");
  const SwarmKey a2 = key_of("correct horse");
  const SwarmKey b = key_of("correct horsf");
  EXPECT_EQ(a1.bytes, a2.bytes);
  EXPECT_NE(a1.bytes, b.bytes);
  EXPECT_NE(a1.bytes, SwarmKey{}.bytes);
}

TEST(Auth, EmptySecretIsInvalid) {
  auto key = derive_key("");
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
}

TEST(Auth, ClientAndServerProofsDiffer) {
  const SwarmKey key = key_of("s3cret");
  const auto c = nonce_of(1);
  const auto s = nonce_of(2);
  EXPECT_NE(client_proof(key, c, s), server_proof(key, c, s));
  // Deterministic for the same inputs.
  EXPECT_EQ(client_proof(key, c, s), client_proof(key, c, s));
  EXPECT_EQ(server_proof(key, c, s), server_proof(key, c, s));
}

TEST(Auth, ProofDependsOnBothNoncesAndTheKey) {
  const SwarmKey key = key_of("s3cret");
  const auto base = client_proof(key, nonce_of(1), nonce_of(2));
  EXPECT_NE(base, client_proof(key, nonce_of(3), nonce_of(2)));
  EXPECT_NE(base, client_proof(key, nonce_of(1), nonce_of(3)));
  EXPECT_NE(base, client_proof(key, nonce_of(2), nonce_of(1)));  // order matters
  EXPECT_NE(base, client_proof(key_of("other"), nonce_of(1), nonce_of(2)));

  // A single flipped bit in a nonce changes the proof.
  auto c = nonce_of(1);
  c[wire::kNonceSize - 1] ^= std::byte{1};
  EXPECT_NE(base, client_proof(key, c, nonce_of(2)));
  const auto sbase = server_proof(key, nonce_of(1), nonce_of(2));
  EXPECT_NE(sbase, server_proof(key, nonce_of(1), nonce_of(4)));
}

TEST(Auth, ProofMatches) {
  const SwarmKey key = key_of("s3cret");
  const auto p = client_proof(key, nonce_of(1), nonce_of(2));
  EXPECT_TRUE(proof_matches(p, p));
  auto q = p;
  q[0] ^= std::byte{0x80};
  EXPECT_FALSE(proof_matches(p, q));
  q = p;
  q[wire::kProofSize - 1] ^= std::byte{1};
  EXPECT_FALSE(proof_matches(p, q));
  EXPECT_FALSE(proof_matches(p, wire::Proof{}));
}

TEST(Auth, NoncesAreFresh) {
  const auto a = make_nonce();
  const auto b = make_nonce();
  EXPECT_NE(a, b);
  EXPECT_NE(a, wire::Nonce{});
}

// Saves and restores LOCO_SECRET, and removes the temp files it hands out.
class LoadSwarmKey : public ::testing::Test {
 protected:
  void SetUp() override {
    if (const char* v = std::getenv("LOCO_SECRET")) saved_ = v;
    unsetenv("LOCO_SECRET");
  }
  void TearDown() override {
    if (saved_) {
      setenv("LOCO_SECRET", saved_->c_str(), 1);
    } else {
      unsetenv("LOCO_SECRET");
    }
    std::error_code ec;
    for (const auto& p : files_) std::filesystem::remove(p, ec);
  }
  std::string write_file(const std::string& contents) {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    auto path = std::filesystem::temp_directory_path() /
                ("loco_auth_test_" + std::to_string(::getpid()) + "_" + info->name() + "_" +
                 std::to_string(files_.size()));
    std::ofstream(path, std::ios::binary) << contents;
    std::filesystem::permissions(path, std::filesystem::perms::owner_read |
                                           std::filesystem::perms::owner_write);
    files_.push_back(path);
    return path.string();
  }

  std::optional<std::string> saved_;
  std::vector<std::filesystem::path> files_;
};

TEST_F(LoadSwarmKey, FromFileWithTrailingNewlineStripped) {
  const SwarmKey expected = key_of("file-secret");
  for (const std::string contents : {"file-secret", "file-secret\n", "file-secret\r\n"}) {
    auto key = load_swarm_key(write_file(contents));
    ASSERT_TRUE(key.ok()) << key.status().to_string();
    ASSERT_TRUE(key->has_value());
    EXPECT_EQ((*key)->bytes, expected.bytes) << "contents: " << contents;
  }
}

TEST_F(LoadSwarmKey, FromEnvironment) {
  ASSERT_EQ(setenv("LOCO_SECRET", "env-secret", 1), 0);
  auto key = load_swarm_key("");
  ASSERT_TRUE(key.ok()) << key.status().to_string();
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->bytes, key_of("env-secret").bytes);
}

TEST_F(LoadSwarmKey, FileWinsOverEnvironment) {
  ASSERT_EQ(setenv("LOCO_SECRET", "env-secret", 1), 0);
  auto key = load_swarm_key(write_file("file-secret\n"));
  ASSERT_TRUE(key.ok());
  ASSERT_TRUE(key->has_value());
  EXPECT_EQ((*key)->bytes, key_of("file-secret").bytes);
}

TEST_F(LoadSwarmKey, NoneConfiguredIsNullopt) {
  auto key = load_swarm_key("");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
  // An empty variable counts as unset.
  ASSERT_EQ(setenv("LOCO_SECRET", "", 1), 0);
  key = load_swarm_key("");
  ASSERT_TRUE(key.ok());
  EXPECT_FALSE(key->has_value());
}

TEST_F(LoadSwarmKey, UnreadableFileIsInvalidArgument) {
  const auto missing = std::filesystem::temp_directory_path() /
                       ("loco_auth_test_missing_" + std::to_string(::getpid()));
  auto key = load_swarm_key(missing.string());
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(key.status().message().find("no such file"), std::string::npos);
}

TEST_F(LoadSwarmKey, EmptyFileIsInvalidArgument) {
  for (const std::string contents : {"", "\n", "\r\n\n"}) {
    auto key = load_swarm_key(write_file(contents));
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find("is empty"), std::string::npos);
  }
}

// An ifstream opens a directory and reads nothing from it: that used to say "is empty".
TEST_F(LoadSwarmKey, DirectoryIsInvalidArgumentAndSaysSo) {
  const std::string dir = std::filesystem::temp_directory_path().string();
  auto key = load_swarm_key(dir);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(key.status().message().find("is a directory"), std::string::npos)
      << key.status().to_string();
  EXPECT_EQ(key.status().message().find("empty"), std::string::npos) << key.status().to_string();
}

TEST_F(LoadSwarmKey, AFileOthersMayReadIsRefused) {
  const std::string path = write_file("file-secret\n");
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  auto key = load_swarm_key(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(key.status().message().find("chmod 600"), std::string::npos) << key.status().message();
  EXPECT_NE(key.status().message().find("0644"), std::string::npos) << key.status().message();
  ASSERT_EQ(::chmod(path.c_str(), 0640), 0);  // group-readable: refused too
  EXPECT_EQ(load_swarm_key(path).status().code(), StatusCode::kFailedPrecondition);
  ASSERT_EQ(::chmod(path.c_str(), 0400), 0);
  EXPECT_TRUE(load_swarm_key(path).ok());
}

TEST_F(LoadSwarmKey, GeneratedSecretFilesArePrivateFreshAndNotOverwritten) {
  const std::string path = write_file("");
  std::filesystem::remove(path);
  ASSERT_TRUE(write_new_secret_file(path, /*overwrite=*/false).ok());
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  EXPECT_EQ(text.rfind("loco-secret-v1:", 0), 0u) << text;
  EXPECT_EQ(text.size(), 15u + 64u);
  auto first = load_swarm_key(path);
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_EQ((*first)->bytes, key_of(text).bytes);

  Status again = write_new_secret_file(path, /*overwrite=*/false);
  EXPECT_EQ(again.code(), StatusCode::kFailedPrecondition) << again.to_string();
  EXPECT_EQ(load_swarm_key(path)->value().bytes, (*first)->bytes) << "must not be overwritten";
  ASSERT_EQ(::chmod(path.c_str(), 0644), 0);
  ASSERT_TRUE(write_new_secret_file(path, /*overwrite=*/true).ok());
  auto second = load_swarm_key(path);
  ASSERT_TRUE(second.ok()) << second.status().to_string() << " (--force must restore mode 0600)";
  EXPECT_NE((*second)->bytes, (*first)->bytes);
  EXPECT_NE(generate_secret_text(), generate_secret_text());
}

TEST(Auth, AMalformedGeneratedSecretIsInvalid) {
  for (const std::string& bad : std::vector<std::string>{"loco-secret-v1:", "loco-secret-v1:abc",
                                "loco-secret-v1:" + std::string(63, 'a'),
                                "loco-secret-v1:" + std::string(64, 'g'),
                                "loco-secret-v1:" + std::string(66, 'a')}) {
    auto key = derive_key(bad);
    ASSERT_FALSE(key.ok()) << bad;
    EXPECT_EQ(key.status().code(), StatusCode::kInvalidArgument);
  }
}

// A passphrase is stretched with Argon2id (libsodium's interactive limits, the fixed loco salt):
// the key equals crypto_pwhash computed here from the documented parameters.
TEST(Auth, APassphraseIsStretchedWithArgon2id) {
  ASSERT_GE(sodium_init(), 0);
  unsigned char salt[crypto_pwhash_SALTBYTES];
  const std::string label = "loco/v1/swarm-salt";
  crypto_generichash(salt, sizeof(salt), reinterpret_cast<const unsigned char*>(label.data()),
                     label.size(), nullptr, 0);
  const std::string pass = "correct horse battery staple";
  std::array<std::byte, 32> expected{};
  ASSERT_EQ(crypto_pwhash(reinterpret_cast<unsigned char*>(expected.data()), expected.size(),
                          pass.data(), pass.size(), salt, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13),
            0);
  EXPECT_EQ(key_of(pass).bytes, expected);
}

}  // namespace
}  // namespace loco::membership