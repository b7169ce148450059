// format_test.cc: the codec header (write/read and every rejection), codec specs (make_codec),
// decode_any's dispatch, and the checks every decoder shares (codec id and count against the
// caller's output).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codecs/codecs.h"
#include "codecs/random_k.h"
#include "unit/codecs/codec_test_util.h"

namespace loco::codecs {
namespace {

using testing::decode_all;
using testing::encode_all;
using testing::must_make;

TEST(CodecHeader, RoundTripsAndIsLittleEndian) {
  std::byte buf[kHeaderSize];
  write_header({CodecId::kInt4Block, 0x01020304u, 0x0000000A0B0C0D0Eull & kMaxCount}, buf);
  EXPECT_EQ(buf[0], std::byte{5});
  EXPECT_EQ(buf[1], std::byte{kFormatVersion});
  EXPECT_EQ(buf[4], std::byte{0x04});
  EXPECT_EQ(buf[7], std::byte{0x01});
  EXPECT_EQ(buf[8], std::byte{0x0E});
  Result<CodecHeader> h = read_header(buf);
  ASSERT_TRUE(h.ok()) << h.status().to_string();
  EXPECT_EQ(h->id, CodecId::kInt4Block);
  EXPECT_EQ(h->block_size, 0x01020304u);
  EXPECT_EQ(h->count, 0x0B0C0D0Eull);
}

TEST(CodecHeader, RejectsEveryMalformedField) {
  std::byte good[kHeaderSize];
  write_header({CodecId::kFp16, 0, 3}, good);
  ASSERT_TRUE(read_header(good).ok());
  for (size_t len = 0; len < kHeaderSize; ++len) {
    EXPECT_EQ(read_header(ByteSpan(good, len)).status().code(), StatusCode::kDataLoss) << len;
  }
  auto with = [&](size_t at, uint8_t v) {
    std::vector<std::byte> b(good, good + kHeaderSize);
    b[at] = std::byte{v};
    return read_header(b).status().code();
  };
  EXPECT_EQ(with(0, 0), StatusCode::kDataLoss);    // id 0
  EXPECT_EQ(with(0, kMaxCodecId + 1), StatusCode::kDataLoss);
  EXPECT_EQ(with(0, 0xFF), StatusCode::kDataLoss);
  EXPECT_EQ(with(1, 2), StatusCode::kProtocolMismatch);  // another format version
  EXPECT_EQ(with(1, 0), StatusCode::kProtocolMismatch);
  EXPECT_EQ(with(2, 1), StatusCode::kDataLoss);  // flags
  EXPECT_EQ(with(3, 0x80), StatusCode::kDataLoss);
  EXPECT_EQ(with(12, 1), StatusCode::kDataLoss);  // count >= 2^32
  EXPECT_EQ(with(15, 0x80), StatusCode::kDataLoss);
}

TEST(CodecSpec, ParsesEveryCodecAndItsOptions) {
  struct Case {
    const char* spec;
    const char* name;
    CodecId id;
  } cases[] = {
      {"fp32", "fp32", CodecId::kIdentity},
      {"fp16", "fp16", CodecId::kFp16},
      {"bf16", "bf16", CodecId::kBf16},
      {"int8", "int8:block=256", CodecId::kInt8Block},
      {"int8:block=64", "int8:block=64", CodecId::kInt8Block},
      {"int4", "int4:block=128", CodecId::kInt4Block},
      {"int4:block=8", "int4:block=8", CodecId::kInt4Block},
      {"sign", "sign:block=1024", CodecId::kSign},
      {"sign:block=1048576", "sign:block=1048576", CodecId::kSign},
      {"topk", "topk:fraction=0.01", CodecId::kTopK},
      {"topk:fraction=0.25,exact=1", "topk:fraction=0.25,exact=1", CodecId::kTopK},
      {"topk:exact=0", "topk:fraction=0.01", CodecId::kTopK},
      {"randomk:fraction=0.5,seed=9", "randomk:fraction=0.5", CodecId::kRandomK},
  };
  for (const Case& c : cases) {
    std::unique_ptr<Codec> codec = must_make(c.spec);
    ASSERT_NE(codec, nullptr);
    EXPECT_EQ(codec->name(), c.name) << c.spec;
    EXPECT_EQ(codec->id(), c.id) << c.spec;
    // A codec's name is itself a spec for the same codec.
    std::unique_ptr<Codec> again = must_make(codec->name());
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->name(), codec->name());
  }
  EXPECT_TRUE(must_make("fp32")->lossless());
  EXPECT_FALSE(must_make("fp16")->lossless());
}

TEST(CodecSpec, BlockSizeIsTheOneInTheHeader) {
  for (const char* spec : {"fp32", "fp16", "bf16", "int8", "int8:block=64", "int4:block=8", "sign",
                           "topk", "randomk:fraction=0.5"}) {
    std::unique_ptr<Codec> codec = must_make(spec);
    ASSERT_NE(codec, nullptr);
    const float one = 1.0f;
    std::vector<std::byte> buf(codec->encoded_size_bound(1));
    ASSERT_TRUE(codec->encode(std::span<const float>(&one, 1), buf).ok()) << spec;
    auto h = read_header(buf);
    ASSERT_TRUE(h.ok()) << spec;
    EXPECT_EQ(codec->block_size(), h->block_size) << spec;
  }
  EXPECT_EQ(must_make("int8:block=64")->block_size(), 64u);
  EXPECT_EQ(must_make("fp16")->block_size(), 0u);
}

TEST(CodecSpec, RejectsBadSpecs) {
  for (const char* spec :
       {"", "fp64", "int8:", "int8:block", "int8:block=", "int8:block=7", "int8:block=0",
        "int8:block=2097152", "int8:block=12", "int8:block=abc", "int8:block=64x", "int8:size=64",
        "int4:block=-8", "fp16:block=8", "topk:fraction=0", "topk:fraction=1.5",
        "topk:fraction=nan", "topk:fraction=-0.1", "topk:exact=2", "topk:seed=1",
        "randomk:exact=1", "randomk:seed=x", "sign:block=8,", "INT8"}) {
    Result<std::unique_ptr<Codec>> c = make_codec(spec);
    EXPECT_FALSE(c.ok()) << "'" << spec << "' was accepted";
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << spec;
    }
  }
}

TEST(CodecSpec, FactoriesValidateBlockSizes) {
  EXPECT_FALSE(make_int8_codec(0).ok());
  EXPECT_FALSE(make_int4_codec(4).ok());
  EXPECT_FALSE(make_sign_codec(kMaxBlockSize + 8).ok());
  EXPECT_TRUE(make_sign_codec(kMaxBlockSize).ok());
  EXPECT_FALSE(make_top_k_codec({0.0, false}).ok());
  EXPECT_FALSE(RandomKCodec::make({2.0, 0}).ok());
}

const char* kAllSpecs[] = {"fp32", "fp16", "bf16", "int8:block=64", "int4:block=32",
                           "sign:block=64", "topk:fraction=0.1", "randomk:fraction=0.1,seed=5"};

TEST(DecodeAny, DispatchesOnTheHeader) {
  std::vector<float> x = testing::make_input(testing::Shape::kGaussian, 777, 1);
  for (const char* spec : kAllSpecs) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes b = encode_all(*c, x);
    std::vector<float> want = decode_all(*c, b, x.size());
    std::vector<float> got(x.size());
    ASSERT_TRUE(decode_any(b, got).ok()) << spec;
    for (size_t i = 0; i < x.size(); ++i) {
      ASSERT_EQ(testing::bits_of(got[i]), testing::bits_of(want[i])) << spec << " at " << i;
    }
  }
  std::vector<float> out(3);
  EXPECT_EQ(decode_any({}, out).code(), StatusCode::kDataLoss);
}

TEST(Decoders, RejectOtherCodecsAndOtherCounts) {
  std::vector<float> x = testing::make_input(testing::Shape::kUniform, 100, 2);
  for (const char* enc_spec : kAllSpecs) {
    Bytes b = encode_all(*must_make(enc_spec), x);
    for (const char* dec_spec : kAllSpecs) {
      std::unique_ptr<Codec> dec = must_make(dec_spec);
      std::vector<float> y(x.size());
      Status st = dec->decode(b, y);
      if (dec->id() == must_make(enc_spec)->id()) {
        EXPECT_TRUE(st.ok()) << enc_spec << " -> " << dec_spec << ": " << st.to_string();
      } else {
        EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << enc_spec << " -> " << dec_spec;
      }
    }
    std::unique_ptr<Codec> same = must_make(enc_spec);
    std::vector<float> shorter(x.size() - 1), longer(x.size() + 1);
    EXPECT_EQ(same->decode(b, shorter).code(), StatusCode::kInvalidArgument) << enc_spec;
    EXPECT_EQ(same->decode(b, longer).code(), StatusCode::kInvalidArgument) << enc_spec;
  }
}

TEST(Encoders, RejectASmallOutput) {
  std::vector<float> x = testing::make_input(testing::Shape::kUniform, 100, 3);
  for (const char* spec : kAllSpecs) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes out(c->encoded_size_bound(x.size()) - 1);
    Result<size_t> n = c->encode(x, out);
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument) << spec;
    Bytes tiny(3);
    EXPECT_EQ(c->encode({}, tiny).status().code(), StatusCode::kInvalidArgument) << spec;
  }
}

TEST(Encoders, EmptyInputIsAHeaderAndDecodes) {
  for (const char* spec : kAllSpecs) {
    std::unique_ptr<Codec> c = must_make(spec);
    Bytes b = encode_all(*c, {});
    const size_t extra = c->id() == CodecId::kTopK ? 4 : c->id() == CodecId::kRandomK ? 12 : 0;
    EXPECT_EQ(b.size(), kHeaderSize + extra) << spec;
    std::vector<float> none;
    EXPECT_TRUE(c->decode(b, none).ok()) << spec;
  }
}

}  // namespace
}  // namespace loco::codecs
