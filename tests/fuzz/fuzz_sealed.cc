// fuzz_sealed.cc: libFuzzer target for the sealed-frame opener (wire/sealed_frame.h). The input is
// read as a stream of sealed frames under a fixed key, opened one after the other as a connection
// would (stopping at the first failure); separately, the input is sealed as a payload under every
// available cipher and must open back to the same bytes, and must fail to open once one byte of the
// sealed frame is flipped. Any other outcome calls abort(). Built as the libFuzzer binary
// fuzz_sealed (clang, LOCO_BUILD_FUZZ) and, with replay_main.cc, as the test fuzz_sealed_replay.
// The seeds (corpus/sealed) are frames sealed under that key by make_sealed_corpus.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "wire/sealed_frame.h"

namespace loco::wire {
namespace {

[[noreturn]] void fail(const char* what) {
  std::fprintf(stderr, "fuzz_sealed: property violated: %s\n", what);
  std::abort();
}

SealKey fuzz_key() {
  SealKey k;
  k.fill(std::byte{0x42});
  return k;
}

void open_stream(ByteSpan in) {
  Opener opener(fuzz_key());
  while (in.size() >= kFrameHeaderSize) {
    Result<FrameHeader> h = decode_header(in, 1u << 20, Framing::kSealed);
    if (!h.ok()) return;
    const size_t total = kFrameHeaderSize + size_t{h->length} + kSealTagSize;
    if (in.size() < total) return;
    Result<Frame> f = open_frame(opener, in.first(total), 1u << 20);
    if (!f.ok()) {
      if (f.status().code() != StatusCode::kDataLoss) fail("open failed with a non-DATA_LOSS code");
      return;
    }
    if (f->payload.size() != h->length) fail("opened payload length differs from the header's");
    in = in.subspan(total);
  }
}

void round_trip(ByteSpan in, SealCipher cipher) {
  if (!seal_cipher_available(cipher)) return;
  Sealer sealer(fuzz_key(), cipher);
  Result<Bytes> sealed = seal_frame(sealer, MsgType::kData, in);
  if (!sealed.ok()) fail("seal failed");
  Opener opener(fuzz_key());
  Result<Frame> f = open_frame(opener, *sealed, kMaxDataPayload);
  if (!f.ok() || f->payload.size() != in.size() ||
      !std::equal(in.begin(), in.end(), f->payload.begin())) {
    fail("sealed frame did not open to its input");
  }
  Bytes bad = *sealed;
  bad[in.size() % bad.size()] ^= std::byte{0x80};
  Opener again(fuzz_key());
  if (open_frame(again, bad, kMaxDataPayload).ok()) fail("a flipped byte opened");
}

}  // namespace
}  // namespace loco::wire

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace loco::wire;
  const loco::ByteSpan in(reinterpret_cast<const std::byte*>(data), size);
  open_stream(in);
  if (size <= 4096) {
    round_trip(in, SealCipher::kAuthOnly);
    round_trip(in, SealCipher::kXChaCha20Poly1305);
    round_trip(in, SealCipher::kAes256Gcm);
  }
  return 0;
}
