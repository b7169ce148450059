// make_sealed_corpus.cc: writes the seed corpus of fuzz_sealed (corpus/sealed): streams of frames
// sealed under the fuzz target's fixed key with each cipher, plus a few broken ones. Usage:
// make_sealed_corpus <dir>. Run by hand when the sealed-frame format changes.
#include <cstdio>
#include <fstream>
#include <string>

#include "wire/sealed_frame.h"

using namespace loco;
using namespace loco::wire;

namespace {

void write(const std::string& dir, const std::string& name, const Bytes& b) {
  std::ofstream out(dir + "/" + name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

Bytes stream(SealCipher cipher, int frames) {
  SealKey key;
  key.fill(std::byte{0x42});
  Sealer sealer(key, cipher);
  Bytes out;
  for (int i = 0; i < frames; ++i) {
    Bytes payload(static_cast<size_t>(i * 13), static_cast<std::byte>(i));
    Bytes f = *seal_frame(sealer, i % 2 ? MsgType::kData : MsgType::kHeartbeat, payload);
    out.insert(out.end(), f.begin(), f.end());
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <dir>\n", argv[0]);
    return 1;
  }
  const std::string dir = argv[1];
  for (SealCipher c : {SealCipher::kAuthOnly, SealCipher::kXChaCha20Poly1305, SealCipher::kAes256Gcm}) {
    if (!seal_cipher_available(c)) continue;
    const std::string name = std::to_string(static_cast<int>(c));
    write(dir, "stream_cipher" + name, stream(c, 4));
    Bytes one = stream(c, 2);
    write(dir, "pair_cipher" + name, one);
    one[one.size() / 2] ^= std::byte{1};
    write(dir, "bad_flip_cipher" + name, one);
    Bytes cut = stream(c, 3);
    cut.resize(cut.size() - 5);
    write(dir, "bad_cut_cipher" + name, cut);
  }
  return 0;
}
