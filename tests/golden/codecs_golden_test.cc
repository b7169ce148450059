// codecs_golden_test.cc: replays tests/golden/codecs/ (written by gen_codecs.py, an independent
// Python + PyTorch implementation of each format) against the C++ codecs: for every case in
// cases.txt, encode(<name>.in) must equal <name>.enc byte for byte and decode(<name>.enc) must
// equal <name>.out bit for bit (NaN compared as NaN of the same sign). This pins the formats and
// the f32 arithmetic order, so a change that alters any encoded byte fails here.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

#include "codecs/codecs.h"

namespace loco::codecs {
namespace {

const std::string kDir = LOCO_GOLDEN_CODECS_DIR;

std::vector<char> read_file(const std::string& name) {
  std::ifstream in(kDir + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot read " << kDir << "/" << name;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<float> read_f32(const std::string& name) {
  std::vector<char> raw = read_file(name);
  EXPECT_EQ(raw.size() % 4, 0u) << name;
  std::vector<float> v(raw.size() / 4);
  if (!v.empty()) std::memcpy(v.data(), raw.data(), 4 * v.size());
  return v;
}

struct Case {
  std::string name;
  std::string spec;
};

std::vector<Case> read_cases() {
  std::vector<Case> cases;
  std::ifstream in(kDir + "/cases.txt");
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream ls(line);
    Case c;
    ls >> c.name >> c.spec;
    cases.push_back(c);
  }
  return cases;
}

TEST(GoldenCodecs, EveryCodecHasACase) {
  std::vector<Case> cases = read_cases();
  ASSERT_GE(cases.size(), 7u) << "cases.txt missing or short in " << kDir;
  for (const char* codec : {"fp16", "bf16", "int8", "int4", "sign", "topk", "randomk"}) {
    bool found = false;
    for (const Case& c : cases) found = found || c.spec.rfind(codec, 0) == 0;
    EXPECT_TRUE(found) << "no golden case for " << codec;
  }
}

TEST(GoldenCodecs, EncodeAndDecodeMatchTheReferenceBitForBit) {
  for (const Case& c : read_cases()) {
    SCOPED_TRACE(c.name + " (" + c.spec + ")");
    Result<std::unique_ptr<Codec>> codec = make_codec(c.spec);
    ASSERT_TRUE(codec.ok()) << codec.status().to_string();
    const std::vector<float> in = read_f32(c.name + ".in");
    const std::vector<char> want_enc = read_file(c.name + ".enc");
    const std::vector<float> want_out = read_f32(c.name + ".out");
    ASSERT_EQ(want_out.size(), in.size());

    Bytes enc((*codec)->encoded_size_bound(in.size()));
    Result<size_t> n = (*codec)->encode(in, enc);
    ASSERT_TRUE(n.ok()) << n.status().to_string();
    enc.resize(*n);
    ASSERT_EQ(enc.size(), want_enc.size());
    for (size_t i = 0; i < enc.size(); ++i) {
      ASSERT_EQ(static_cast<uint8_t>(enc[i]), static_cast<uint8_t>(want_enc[i]))
          << "encoded byte " << i << " of " << enc.size();
    }

    std::vector<float> out(in.size());
    ByteSpan ref(reinterpret_cast<const std::byte*>(want_enc.data()), want_enc.size());
    Status st = (*codec)->decode(ref, out);
    ASSERT_TRUE(st.ok()) << st.to_string();
    for (size_t i = 0; i < out.size(); ++i) {
      if (std::isnan(want_out[i])) {
        ASSERT_TRUE(std::isnan(out[i])) << "element " << i;
        ASSERT_EQ(std::signbit(out[i]), std::signbit(want_out[i])) << "element " << i;
      } else {
        ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(want_out[i]))
            << "element " << i << ": got " << out[i] << ", reference " << want_out[i];
      }
    }
  }
}

}  // namespace
}  // namespace loco::codecs
