// make_codec_corpus.cc: writes the seed corpora of the codec fuzz targets, one folder per codec
// (<dir>/codec_<name>/): valid encodings of small inputs (empty, one element, odd counts, several
// block sizes and fractions, special values) and a few near misses (truncated, a bad scale, an
// index out of range). Run by hand: make_codec_corpus tests/fuzz/corpus. Not a test.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/random_k.h"

namespace {

namespace fs = std::filesystem;
using loco::Bytes;

void write(const fs::path& dir, const std::string& name, const Bytes& b) {
  std::ofstream out(dir / name, std::ios::binary);
  out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

std::vector<float> input(size_t n, float scale) {
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) x[i] = scale * std::sin(0.7f * static_cast<float>(i) + 0.3f);
  return x;
}

Bytes encode(const loco::codecs::Codec& c, const std::vector<float>& x) {
  Bytes b(c.encoded_size_bound(x.size()));
  b.resize(c.encode(x, b).value());
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus-root>\n", argv[0]);
    return 1;
  }
  using namespace loco::codecs;  // NOLINT(google-build-using-namespace)
  struct Family {
    const char* dir;
    std::vector<const char*> specs;
  } families[] = {
      {"codec_fp16", {"fp16"}},
      {"codec_bf16", {"bf16"}},
      {"codec_int8", {"int8:block=8", "int8:block=64"}},
      {"codec_int4", {"int4:block=8", "int4:block=32"}},
      {"codec_sign", {"sign:block=8", "sign:block=64"}},
      {"codec_topk", {"topk:fraction=0.1", "topk:fraction=1"}},
      {"codec_randomk", {"randomk:fraction=0.1,seed=7", "randomk:fraction=0.5,seed=99"}},
  };
  const float inf = std::numeric_limits<float>::infinity();
  for (const Family& f : families) {
    const fs::path dir = fs::path(argv[1]) / f.dir;
    fs::create_directories(dir);
    int i = 0;
    for (const char* spec : f.specs) {
      std::unique_ptr<Codec> c = make_codec(spec).value();
      for (size_t n : {size_t{0}, size_t{1}, size_t{9}, size_t{40}}) {
        Bytes b = encode(*c, input(n, 2.0f));
        write(dir, "valid_" + std::to_string(i++) + "_n" + std::to_string(n), b);
        if (n == 40) {
          Bytes cut(b.begin(), b.end() - 3);
          write(dir, "bad_truncated_" + std::to_string(i), cut);
          Bytes bad = b;
          bad[loco::codecs::kHeaderSize + 5] ^= std::byte{0x7F};  // a scale, index or value byte
          write(dir, "mutated_" + std::to_string(i), bad);
        }
      }
    }
    if (std::string(f.dir) == "codec_fp16" || std::string(f.dir) == "codec_bf16") {
      std::unique_ptr<Codec> c = make_codec(f.specs[0]).value();
      write(dir, "specials", encode(*c, {0.0f, -0.0f, inf, -inf, std::nanf(""), 65520.0f, 1e-40f,
                                         3.4e38f, 0x1p-24f}));
    }
  }
  std::printf("wrote corpora under %s\n", argv[1]);
  return 0;
}
